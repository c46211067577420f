/**
 * The platform adapter seam (STYLE principle 5). An adapter owns one bot's connection to its
 * platform: it turns platform events into `InboundMessage`s for the host's ingress chain and
 * registers a `Delivery` that turns replies into platform calls. It receives only what it needs
 * (`AdapterHost`), so a test can build one from object literals.
 *
 * Every `adapters/<name>/index.ts` exports `create<Name>Adapter(config, host)` and a
 * `<Name>AdapterConfig` zod schema for its bots.yaml entry (the common keys below plus its own);
 * the host validates the entry with that schema through the config loader, so errors name
 * `bots.yaml:LINE: bots[i].key` like every other config error.
 */
import { z } from 'zod';
import type { InboundMessage } from './inbound.js';
import type { SessionScope } from './session-key.js';
import type { Delivery } from './turn-queue.js';

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

/** What happened to one inbound message in the ingress chain (undefined: nothing decided). */
export type IngestOutcome = 'enqueued' | 'duplicate' | 'denied' | 'ignored' | 'command';

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

/** What the host gives an adapter. */
export interface AdapterHost {
  /** Feed one inbound message through the ingress chain; `reply` answers directly (commands, refusals). */
  ingest(bot: BotPolicy, message: InboundMessage, reply: (text: string) => Promise<void>): Promise<IngestOutcome | undefined>;
  /** Register the adapter's Delivery for its bot id; returns an unregister function. */
  delivery: { register(botId: string, delivery: Delivery): () => void };
  logger: AdapterLogger;
  /** The slash commands the ingress chain answers (name → description), for platform menus. */
  commands: Readonly<Record<string, string>>;
  /** The session scope of bots.yaml `session.scope`. */
  scope: SessionScope;
  /** Absent: no Redis anywhere; leadership-needing features run single-process. */
  leadership?: LeadershipSource;
  /** Told when the adapter stopped for good after starting (e.g. its token was revoked). */
  onFatal?: (err: Error) => void;
}

export interface PlatformAdapter {
  readonly platform: string;
  readonly botId: string;
  /** The bot's own handle on the platform once started (e.g. `@my_bot`), for logs. */
  readonly account?: string;
  /**
   * Connects and starts receiving; resolves once running (polling or listening). Rejects with a
   * BotHostError the operator can act on when it cannot run (bad token, port in use). Safe to
   * call twice; `signal` aborts a start that is still retrying.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops receiving, lets in-flight sends finish, unregisters. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The keys every bots[] entry has (already validated by the bots.yaml schema); adapters spread
 * this into their own strict schema so a typo in a platform key is reported with a suggestion.
 */
export const COMMON_BOT_CONFIG = {
  platform: z.string(),
  id: z.string(),
  agent: z.string(),
  enabled: z.boolean(),
  token: z.string().optional(),
  allowed_users: z.array(z.string()),
  unknown_user_policy: z.enum(['allow', 'deny']),
  group_policy: z.enum(['mention_only', 'respond_all', 'command_only']),
} as const;

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
