/**
 * The Discord adapter: discord.js 14 against Discord (or any server at `api_root`: the REST
 * base, whose `GET /gateway/bot` names the gateway). One gateway connection per token, run under
 * the host's connection hold (the bot's leadership lease when Redis is configured); replies go
 * out over REST (`outbound.ts`) from the process holding the connection, which also holds the
 * interaction tokens.
 *
 * Inbound: a MESSAGE_CREATE or slash command → `normalize` → `host.ingest`, in order per user.
 * The gateway cannot redeliver, so a message the host could not take (`retry`: the queue is down)
 * is offered again with a capped backoff. Slash commands are deferred at once (Discord's 3 s),
 * and the reply later replaces the deferred response.
 */
import { REST, RESTEvents, type ChatInputCommandInteraction, type Message } from 'discord.js';
import type { AdapterHost, AdapterLogger, IngestOptions, IngestOutcome, PlatformAdapter } from '../../src/core/adapter.js';
import { AdapterFatalError } from '../../src/core/adapter.js';
import { adapterLifecycle } from '../../src/core/adapter-lifecycle.js';
import { BotHostError } from '../../src/core/errors.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { decisionOf, describeError } from './api-errors.js';
import { applicationCommands } from './commands.js';
import { DISCORD_DEFAULTS, type DiscordAdapterConfig } from './config.js';
import { runGateway } from './gateway.js';
import { InteractionTokens } from './interaction-tokens.js';
import { normalizeCommand, normalizeMessage, type DiscordChannelLike } from './normalize.js';
import { discordOutbound, NO_MENTIONS } from './outbound.js';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

const EPHEMERAL = 1 << 6;
const NOT_HERE = 'This bot does not answer in this channel.';

export function createDiscordAdapter(config: DiscordAdapterConfig, host: AdapterHost): PlatformAdapter {
  const token = config.token;
  if (!token) {
    throw new BotHostError('DISCORD_TOKEN_MISSING', `discord bot "${config.id}" has no token: set DISCORD_BOT_TOKEN or add \`token: \${DISCORD_BOT_TOKEN}\` to its bots.yaml entry`);
  }
  const logger = redactingLogger(host.logger, token);
  const rest = new REST({ api: config.api_root, version: DISCORD_DEFAULTS.apiVersion }).setToken(token);
  // A 429 Discord answered (the client waits `retry_after` and sends again), and waits the
  // client imposes itself ahead of a known bucket's reset.
  rest.on(RESTEvents.Response, (request, response) => {
    if (response.status !== 429) return;
    host.rateLimited?.();
    logger.warn({ method: request.method, route: redactUrl(request.route), retryAfterS: Number(response.headers.get('retry-after')) }, 'discord rate limit (429): waiting retry_after');
  });
  rest.on(RESTEvents.RateLimited, (info) => {
    logger.info({ method: info.method, route: redactUrl(info.route), waitMs: info.timeToReset, global: info.global }, 'discord rate limit: waiting for the bucket to reset');
  });
  const tokens = new InteractionTokens();
  // Discord shows typing ~10 s per call; the host renews it every typing_interval_ms per reply.
  const outbound = discordOutbound({ rest, tokens, logger, botId: config.id, typingCoalesceMs: Math.floor(config.typing_interval_ms * 0.8) });
  const lifecycle = adapterLifecycle(`discord bot "${config.id}"`, run, async () => {
    await connection;
    await Promise.allSettled([...chains.values()]);
  });
  const seenCommands = new Set<string>();
  const chains = new Map<string, Promise<unknown>>();
  let me: { id: string; username: string } | undefined;
  let stopDelivery: (() => void) | undefined;
  let commandsRegistered = false;
  let connection: Promise<void> | undefined;
  let firstAttempt: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let attempted = false;

  /** Guild messages only where allowed_guilds / allowed_channels say (a thread counts as its parent). */
  function allowedPlace(guildId: string | null, channelId: string | null, channel: DiscordChannelLike | null | undefined): boolean {
    if (guildId === null) return true;
    if (config.allowed_guilds.length > 0 && !config.allowed_guilds.includes(guildId)) return false;
    if (config.allowed_channels.length === 0) return true;
    return (channelId !== null && config.allowed_channels.includes(channelId)) || (!!channel?.parentId && config.allowed_channels.includes(channel.parentId));
  }

  /** Offers `inbound` until the host takes a decision other than `retry` (or the adapter stops). */
  async function ingestUntilTaken(inbound: InboundMessage, options: IngestOptions): Promise<IngestOutcome> {
    let wait: number = DISCORD_DEFAULTS.ingestRetryMs.initial;
    for (;;) {
      const outcome = await host.ingest(inbound, options);
      if (outcome !== 'retry' || lifecycle.stopping.aborted) return outcome;
      logger.warn({ message: inbound.messageId, retryInMs: wait }, 'the host did not take a Discord message (queue unavailable); offering it again (the gateway does not redeliver)');
      await sleep(wait, lifecycle.stopping);
      wait = Math.min(wait * 2, DISCORD_DEFAULTS.ingestRetryMs.max);
    }
  }

  /** One sender's messages reach the host in the order they arrived. */
  function ingestInOrder(inbound: InboundMessage, after?: (outcome: IngestOutcome) => Promise<void>): void {
    const options: IngestOptions = config.threads === 'per_thread' && inbound.threadId !== undefined ? { scope: 'per_thread' } : {};
    const previous = chains.get(inbound.userId) ?? Promise.resolve();
    const next = previous
      .then(() => ingestUntilTaken(inbound, options))
      .then(async (outcome) => {
        logger.debug({ message: inbound.messageId, outcome }, 'discord message');
        await after?.(outcome);
      })
      .catch((err) => logger.error({ message: inbound.messageId, err: describeError(err) }, 'could not hand a Discord message to the host'));
    chains.set(inbound.userId, next);
    void next.finally(() => {
      if (chains.get(inbound.userId) === next) chains.delete(inbound.userId);
    });
  }

  function onMessage(message: Message): void {
    if (!me || !allowedPlace(message.guildId, message.channelId, message.channel as DiscordChannelLike)) return;
    const inbound = normalizeMessage(message as never, { botId: config.id, botUserId: me.id });
    if (inbound) ingestInOrder(inbound);
  }

  function onCommand(interaction: ChatInputCommandInteraction): void {
    void answerCommand(interaction).catch((err) => logger.warn({ interaction: interaction.id, err: describeError(err) }, 'could not answer a Discord slash command'));
  }

  async function answerCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!me || seenCommands.has(interaction.id)) return; // a RESUME replay: already deferred
    seenCommands.add(interaction.id);
    if (seenCommands.size > DISCORD_DEFAULTS.seenMemory) seenCommands.delete(seenCommands.values().next().value!);
    const callback = `/interactions/${interaction.id}/${interaction.token}/callback` as const;
    const channel = interaction.channel as DiscordChannelLike | null;
    if (!allowedPlace(interaction.guildId, interaction.channelId, channel)) {
      await rest.post(callback, { body: { type: 4, data: { content: NOT_HERE, flags: EPHEMERAL, allowed_mentions: NO_MENTIONS } }, auth: false });
      return;
    }
    tokens.remember(interaction.id, interaction.applicationId, interaction.token);
    try {
      await rest.post(callback, { body: { type: 5 }, auth: false });
    } catch (err) {
      const decision = decisionOf(err);
      if (decision === 'ignore') return; // acknowledged already: another connection got it first
      if (decision === 'post_in_channel') tokens.forget(interaction.id);
      logger.warn({ interaction: interaction.id, err: describeError(err) }, 'could not defer a Discord slash command; the reply will be posted in the channel');
    }
    const inbound = normalizeCommand(
      {
        id: interaction.id,
        commandName: interaction.commandName,
        channelId: interaction.channelId,
        guildId: interaction.guildId,
        user: { id: interaction.user.id, username: interaction.user.username, bot: interaction.user.bot },
        channel,
        question: interaction.options.getString('question'),
        createdTimestamp: interaction.createdTimestamp,
      },
      { botId: config.id, botUserId: me.id },
    );
    if (!inbound) return void (await dropDeferred(interaction.id));
    ingestInOrder(inbound, async (outcome) => {
      // Nothing will answer the deferred response ("thinking…"): remove it.
      if (outcome === 'ignored' || (outcome === 'denied' && !inbound.isDirect)) await dropDeferred(interaction.id);
    });
  }

  async function dropDeferred(interactionId: string): Promise<void> {
    const held = tokens.get(interactionId);
    if (!held) return;
    tokens.forget(interactionId);
    await rest.delete(`/webhooks/${held.applicationId}/${held.token}/messages/@original`, { auth: false }).catch((err) => logger.debug({ err: describeError(err) }, 'could not remove a deferred response'));
  }

  async function onReady(ready: { id: string; username: string; applicationId: string; guilds: number }): Promise<void> {
    me = { id: ready.id, username: ready.username };
    host.identify({ username: ready.username });
    // Replies go out from the process holding the connection (it holds the interaction tokens).
    stopDelivery ??= host.deliver();
    logger.info({ username: ready.username, guilds: ready.guilds }, 'discord gateway connected');
    firstAttempt?.resolve();
    if (config.slash_commands && !commandsRegistered) {
      try {
        await rest.put(`/applications/${ready.applicationId}/commands`, { body: applicationCommands(host.commands) });
        commandsRegistered = true;
      } catch (err) {
        logger.warn({ err: describeError(err) }, 'could not register the slash commands; /ask /new /status /help may be missing or out of date');
      }
    }
  }

  async function connect(signal: AbortSignal): Promise<void> {
    attempted = true;
    try {
      await runGateway({ botId: config.id, token: token!, apiRoot: config.api_root, logger }, { onReady, onMessage, onCommand }, signal);
    } catch (err) {
      if (!(err as { fatal?: boolean }).fatal) firstAttempt?.resolve();
      throw err;
    } finally {
      // The lease went to another process: it delivers from now on (and holds the new interactions).
      if (signal.aborted && !lifecycle.stopping.aborted) {
        stopDelivery?.();
        stopDelivery = undefined;
      }
    }
  }

  /** Checks the token over REST, so a bad one stops the bot even in a process that is not the leader. */
  async function whoAmI(signal: AbortSignal): Promise<{ id: string; username: string }> {
    let wait = 500;
    for (;;) {
      try {
        return (await rest.get('/users/@me', { signal })) as { id: string; username: string };
      } catch (err) {
        if (decisionOf(err) === 'fatal') {
          throw new AdapterFatalError('DISCORD_TOKEN_INVALID', `Discord rejected the token of bot "${config.id}" (${describeError(err)}): copy a fresh token from the developer portal (your application → Bot → Reset Token) into DISCORD_BOT_TOKEN or bots.yaml`, { cause: err });
        }
        if (signal.aborted) throw new BotHostError('ADAPTER_STOPPED', `discord bot "${config.id}" was stopped while connecting`);
        logger.warn({ err: describeError(err), api: originOf(config.api_root), retryInMs: wait }, 'cannot reach the Discord API; retrying');
        await sleep(wait, signal);
        wait = Math.min(wait * 2, 30_000);
      }
    }
  }

  /**
   * Resolves once the first connection attempt settled (READY, or failed and retrying), or when
   * none began within `leaseWaitMs` (another process holds the connection); rejects when the bot
   * stopped for good first. So "running" means connected wherever this process connects.
   */
  async function run(signal: AbortSignal): Promise<void> {
    const user = await whoAmI(signal);
    me ??= { id: user.id, username: user.username };
    host.identify({ username: user.username });
    const first = new Promise<void>((resolve, reject) => (firstAttempt = { resolve, reject }));
    const waiting = setTimeout(() => {
      if (!attempted) firstAttempt?.resolve();
    }, DISCORD_DEFAULTS.leaseWaitMs);
    connection = host.holdConnection(connect, lifecycle.stopping).catch((err: Error) => {
      logger.error({ err: err.message }, 'discord bot stopped');
      firstAttempt?.reject(err);
      host.onFatal?.(err);
    });
    try {
      await Promise.race([first, connection.then(() => undefined)]);
    } finally {
      clearTimeout(waiting);
    }
  }

  return {
    platform: 'discord',
    botId: config.id,
    outbound,
    get account() {
      return me ? `@${me.username}` : undefined;
    },
    start: lifecycle.start,
    stop: lifecycle.stop,
  };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/** Interaction and webhook tokens inside a URL or route replaced by `:token`. */
export function redactUrl(text: string): string {
  return text.replace(/(\/(?:interactions|webhooks)\/\d+\/)[^/\s"?]+/g, '$1:token');
}

/** Every log line goes through here: the bot token and any interaction token are removed. */
function redactingLogger(logger: AdapterLogger, token: string): AdapterLogger {
  const redact = (s: string) => redactUrl(s.split(token).join('[redacted]'));
  const clean = (obj: object): object => JSON.parse(redact(JSON.stringify(obj))) as object;
  return {
    debug: (o, m) => logger.debug(clean(o), m && redact(m)),
    info: (o, m) => logger.info(clean(o), m && redact(m)),
    warn: (o, m) => logger.warn(clean(o), m && redact(m)),
    error: (o, m) => logger.error(clean(o), m && redact(m)),
  };
}
