/**
 * The platform adapter seam. A platform is one folder `adapters/<name>/` whose `index.ts`
 * default-exports one `AdapterDefinition` (its bots.yaml schema, what an entry is missing, its
 * capabilities, `create`) and one line in the host's catalog (`src/host/catalog.ts`).
 *
 * Adapters provide basic platform calls; the host owns policy:
 * - inbound: the adapter turns a platform event into an `InboundMessage` (with an opaque reply
 *   `address` only it decodes) and calls `host.ingest`; the host knows the bot's ingress policy
 *   (allowlist, gating, scope, commands) by bot id and answers commands itself;
 * - outbound: the adapter's `Outbound` has `send`, optional `edit` / `typing` / `react` and
 *   `render`; the host wraps it in one streaming delivery (typing cadence, post-then-throttled
 *   edits, chunks at the declared limit, the delivered set, the plain-text fallback).
 *
 * An adapter receives only what it needs (`AdapterHost`), so a test can build one from literals.
 */
import type { z } from 'zod';
import type { InboundMessage } from './inbound.js';
import type { KeyValueSource } from './key-value.js';
import type { SessionScope } from './session-key.js';

/** A bot's ingress rules, from its bots.yaml entry. */
export interface BotPolicy {
  id: string;
  platform: string;
  agent: string;
  allowedUsers: readonly string[];
  unknownUserPolicy: 'allow' | 'deny';
  groupPolicy: 'mention_only' | 'respond_all' | 'command_only';
  scope: SessionScope;
  /** The bot's own username, to recognise `/cmd@username` (Telegram groups). */
  username?: string;
}

/**
 * What happened to one inbound message in the ingress chain. `retry`: the queue did not take it
 * (storage unavailable) — do not acknowledge it to the platform, so the platform redelivers.
 */
export type IngestOutcome = 'enqueued' | 'duplicate' | 'denied' | 'ignored' | 'command' | 'retry';

/** The subset of a pino logger adapters use. */
export interface AdapterLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * "Only one process does X at a time" (e.g. long-polls one bot token), with takeover when the
 * holder dies. Absent capability: the adapter runs as if it were the only process.
 */
export interface Leadership {
  /**
   * Waits until this process holds `name`; null if `signal` aborted first. The held lease's
   * `signal` aborts as soon as leadership must be presumed lost (stop the work at once).
   */
  acquire(name: string, signal: AbortSignal): Promise<HeldLeadership | null>;
  /** Where the lease lives, for logs (never credentials). */
  readonly describe: string;
}

export interface HeldLeadership {
  readonly signal: AbortSignal;
  /** Monotonic per name: a later leader always has a higher fence. */
  readonly fence: number;
  /** Give it up (compare-and-delete). Safe to call twice. */
  release(): Promise<void>;
}

/** Where a leadership lease can come from, opened only when an adapter uses it. */
export interface LeadershipSource {
  /** True when bots.yaml configures Redis (queue.redis_url or a redis store); false when only REDIS_URL is set. */
  readonly configured: boolean;
  readonly describe: string;
  /** `ttlMs`: how long a dead holder blocks takeover (default 10 s). */
  open(options?: { ttlMs?: number }): Leadership;
}

/** What a platform can do; the host's reply policy follows it. */
export interface AdapterCapabilities {
  /** Messages can be edited, so replies can stream (post, then throttled edits). */
  edits: boolean;
  /** A "typing…" indicator exists (`Outbound.typing`). */
  typing: boolean;
  /** Conversations can have threads (forum topics, Discord/Slack threads). */
  threads: boolean;
  /** Longest message `render` may produce, in `lengthUnit`s. */
  maxMessageLength: number;
  lengthUnit: 'utf16' | 'codepoints';
  /** One connection per account: the connection runs only under the bot's leadership lease. */
  singleConnection: boolean;
  /** What `render` produces from the model's Markdown. */
  markdown: 'telegram-html' | 'discord' | 'slack-mrkdwn' | 'whatsapp' | 'plain';
  /** Least time between two edits of one reply (ms). */
  editIntervalMs: number;
  /** How often the typing indicator is renewed (ms); the platform shows it about this long. */
  typingIntervalMs: number;
  /**
   * Least time between two edits within one `Outbound.editScope` (e.g. Slack's chat.update is
   * limited per workspace, ~50/min). Absent: only the per-reply interval applies.
   */
  scopeEditIntervalMs?: number;
  /**
   * The platform delivers a message again when it was not acknowledged (webhook retries, polling
   * offsets). Default true. false (Discord's gateway, WhatsApp): a message the queue cannot take
   * now is spooled on local disk by the host and acknowledged, then forwarded in order.
   */
  redelivers?: boolean;
}

/** One message of a reply, as the platform takes it. */
export interface OutboundChunk {
  /** What to send (platform markup when `formatted`). */
  text: string;
  /** The same visible text without markup: sent when the platform rejects the formatting. */
  plain: string;
  formatted: boolean;
}

export interface SendOptions {
  /**
   * Deterministic for this chunk of this reply (`<botId>|<messageId>|<index>`, or a notice's
   * own key): adapters whose platform dedupes sends by a nonce derive it from this, so a retried
   * send that had in fact succeeded does not post twice.
   */
  idempotencyKey: string;
  /** Position of the chunk in its reply (0: first; adapters quote the question on the first). */
  index: number;
  /** A streamed preview of a reply still being written (its final text follows by edit or send). */
  preview?: boolean;
}

/**
 * The platform calls a reply needs. `address` is the `InboundMessage.address` the adapter
 * encoded; only the adapter decodes it. Errors other than FormattingRejectedError propagate, so
 * the queue may retry the reply; a chat that refuses messages for good (bot blocked, chat gone)
 * resolves `undefined` after the adapter logged it — a reply never vanishes silently.
 */
export interface Outbound {
  /** Posts one chunk; resolves the platform message id (for edits), undefined when dropped for good. */
  send(address: string, chunk: OutboundChunk, options: SendOptions): Promise<string | undefined>;
  /** Replaces message `messageId`; resolves its id (a new one if the platform forced a re-send). Absent: no streaming. */
  edit?(address: string, messageId: string, chunk: OutboundChunk): Promise<string | undefined>;
  /** Shows "typing…" once (the host renews it). */
  typing?(address: string): Promise<void>;
  /** Reacts to the inbound message the address points at (e.g. a status emoji). */
  react?(address: string, emoji: string): Promise<void>;
  /** Clears the typing indicator or status the adapter shows (e.g. WhatsApp `paused`). */
  idle?(address: string): Promise<void>;
  /**
   * Deletes one of the bot's own messages: a streamed preview left behind when another process
   * delivered the final reply (distributed mode). Absent: such a preview is brought up to date instead.
   */
  remove?(address: string, messageId: string): Promise<void>;
  /** The edit-throttling scope of an address (Slack: the workspace). Absent: one scope per bot. */
  editScope?(address: string): string;
  /**
   * Model Markdown (or plain text) → platform messages, each within `maxMessageLength`, never
   * split inside a code block, formatting entity or surrogate pair. Whitespace-only: no chunks.
   */
  render(text: string, mode: 'markdown' | 'plain'): OutboundChunk[];
}

/** How a message is fed to the host. */
export interface IngestOptions {
  /** Overrides the bot's session scope for this message (Telegram forum topics, Slack threads). */
  scope?: SessionScope;
}

/** What the host gives an adapter (one per bot). */
export interface AdapterHost {
  /**
   * Feeds one inbound message through the bot's ingress chain; resolves once the decision is
   * made and, for `enqueued`, once the turn is durably accepted — acknowledge the platform only
   * then, and never on `retry`. Command answers are sent through the adapter's `outbound`
   * without holding up this promise.
   */
  ingest(message: InboundMessage, options?: IngestOptions): Promise<IngestOutcome>;
  /**
   * Start delivering this bot's replies through the adapter's `outbound` (call once connected;
   * single-connection adapters: while leader). Returns the function that stops it.
   */
  deliver(): () => void;
  /** Tell the host the bot's own handle once known (commands addressed `/cmd@username`). */
  identify(account: { username?: string }): void;
  /**
   * Runs `connect` whenever this process may hold the bot's single connection: at once without
   * leadership, else while the bot's leadership lease is held. `connect` gets a signal that aborts
   * when the lease is lost or the adapter stops, and should resolve when its connection is closed;
   * a rejection with an `AdapterFatalError` (bad token, intents off, logged out) stops for good
   * and rejects the returned promise; anything else reconnects after a capped, jittered backoff
   * (reset once a connection lasted a minute). Resolves when `stop` aborts.
   */
  holdConnection(connect: (signal: AbortSignal) => Promise<void>, stop: AbortSignal): Promise<void>;
  logger: AdapterLogger;
  /** The slash commands the ingress chain answers (name → description), for platform menus. */
  commands: Readonly<Record<string, string>>;
  /** Told when the adapter stopped for good after starting (e.g. its token was revoked). */
  onFatal?: (err: Error) => void;
  /** The platform answered a call with its rate limit (HTTP 429): counted for operators. */
  rateLimited?(): void;
  /**
   * Atomic key-value state of this bot kept with the sessions (Redis, Postgres stores; absent
   * with the file and memory stores), per namespace — e.g. a linked device's keys.
   */
  keyValue?: KeyValueSource;
}

export interface PlatformAdapter {
  readonly platform: string;
  readonly botId: string;
  /** The bot's own handle on the platform once started (e.g. `@my_bot`), for logs. */
  readonly account?: string;
  readonly outbound: Outbound;
  /**
   * Connects and starts receiving; resolves once running (polling, listening or connected).
   * Rejects with a BotHostError the operator can act on when it cannot run (bad token, port in
   * use). Safe to call twice; `signal` aborts a start that is still retrying.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops receiving, lets in-flight sends finish. Safe to call twice. */
  stop(): Promise<void>;
}

/** An extra CLI action of a platform (`bot whatsapp login`), run with the entry's config. */
export interface AdapterAction<C = unknown> {
  description: string;
  /** commander-style option flags, e.g. `['--pairing-code <phone>', 'link with a code']`. */
  options?: readonly (readonly [flags: string, description: string])[];
  /** `args`: positional arguments after the action name. Resolves the exit code. */
  run(config: C, context: { args: readonly string[]; options: Record<string, unknown>; say(line: string): void; logger: AdapterLogger; leadership?: LeadershipSource; keyValue?: KeyValueSource }): Promise<number>;
  /** `<dir>`-style positional argument names, for help. */
  args?: string;
}

/**
 * Everything the host knows about a platform. The module exporting it must stay light (zod and
 * core only): `create` imports the platform SDK lazily, so `bot start` and `bot config check`
 * never load an SDK they do not run.
 */
export interface AdapterDefinition<C extends CommonBotConfig = CommonBotConfig> {
  platform: string;
  /** For humans: `Telegram`. */
  title: string;
  /** The bots.yaml entry schema: `COMMON_BOT_CONFIG` spread plus the platform's own keys. */
  schema: z.ZodType<C>;
  /**
   * Environment variables that fill entry keys (`{ token: 'TELEGRAM_BOT_TOKEN' }`). With
   * `bot <platform>` and no `--bot`, a set variable wins over the entry; with `--bot` the entry does.
   */
  env: Readonly<Record<string, string>>;
  /**
   * Why this (raw, not yet validated) entry cannot run — a credential or setting is absent, the
   * device is not linked — phrased for the operator, or null when it can. `where` names the
   * entry's location for the message (`bots[0] in bots.yaml`).
   */
  missing(entry: Readonly<Record<string, unknown>>, where: string): string | null | Promise<string | null>;
  capabilities(config: C): AdapterCapabilities;
  create(config: C, host: AdapterHost): Promise<PlatformAdapter>;
  /** Extra `bot <platform> <action>` commands (list them in the catalog entry's help). */
  actions?: Readonly<Record<string, AdapterAction<C>>>;
}

export { COMMON_BOT_CONFIG, LEADER_CONFIG } from './bot-config.js';
export { AdapterFatalError, FormattingRejectedError } from './adapter-errors.js';

export interface CommonBotConfig {
  platform: string;
  id: string;
  agent: string;
  enabled: boolean;
  token?: string | undefined;
  allowed_users: string[];
  unknown_user_policy: 'allow' | 'deny';
  group_policy: BotPolicy['groupPolicy'];
  leader?: 'auto' | 'redis' | 'none';
  leader_ttl_ms?: number;
}

/** The ingress policy of a validated entry. */
export function botPolicyOf(
  entry: { id: string; platform: string; agent: string; allowed_users: readonly string[]; unknown_user_policy: 'allow' | 'deny'; group_policy: BotPolicy['groupPolicy'] },
  scope: SessionScope,
  username?: string,
): BotPolicy {
  return {
    id: entry.id,
    platform: entry.platform,
    agent: entry.agent,
    allowedUsers: entry.allowed_users,
    unknownUserPolicy: entry.unknown_user_policy,
    groupPolicy: entry.group_policy,
    scope,
    ...(username ? { username } : {}),
  };
}
