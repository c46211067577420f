/**
 * One gateway connection: a discord.js Client (intents Guilds, GuildMessages, DirectMessages,
 * MessageContent; `Partials.Channel`, without which direct messages in uncached DM channels are
 * dropped silently) logged in until `signal` aborts.
 *
 * - discord.js resumes a dropped connection itself (RESUME replays what was missed). After
 *   `maxQuickReconnects` closes without a READY/RESUMED in between, this connection is given up
 *   (rejects, not fatal), so the host reconnects with its capped backoff instead of discord.js's
 *   fixed 500 ms retry loop.
 * - A close that reconnecting cannot fix (4004 bad token, 4014 intents not enabled in the
 *   portal, …) rejects with an AdapterFatalError naming what to change.
 * - Resolves when `signal` aborts (stop, or the leadership lease was lost); the client is
 *   destroyed in every case.
 */
import { Client, Events, GatewayIntentBits, Partials, SimpleShardingStrategy, type ChatInputCommandInteraction, type Message } from 'discord.js';
import { AdapterFatalError, type AdapterLogger } from '../../src/core/adapter.js';
import { BotHostError } from '../../src/core/errors.js';
import { describeError, FATAL_CLOSE_CODES, fatalCloseOf } from './api-errors.js';
import { DISCORD_DEFAULTS } from './config.js';

export const GATEWAY_INTENTS = Object.freeze([GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent]);

export interface GatewayHandlers {
  /** The connection is up (READY): the bot's user and application ids. */
  onReady(me: { id: string; username: string; applicationId: string; guilds: number }): void | Promise<void>;
  onMessage(message: Message): void;
  onCommand(interaction: ChatInputCommandInteraction): void;
}

export interface GatewayOptions {
  botId: string;
  token: string;
  apiRoot: string;
  logger: AdapterLogger;
  maxQuickReconnects?: number;
}

/**
 * discord.js's shards pause 500 ms before reconnecting, and a `destroy()` during that pause does
 * not cancel the reconnect: the destroyed client would connect again on its own (and keep
 * retrying every 500 ms). This strategy disarms its shards when destroyed, so a client this
 * adapter has given up on never comes back. (It reaches two internals of @discordjs/ws 1.x:
 * the strategy's `shards` and a shard's `internalConnect`; the gateway failure tests catch a
 * change.)
 */
class FinalShardingStrategy extends SimpleShardingStrategy {
  override async destroy(options?: Parameters<SimpleShardingStrategy['destroy']>[0]): Promise<void> {
    const shards = [...((this as unknown as { shards: Map<number, object> }).shards?.values() ?? [])];
    await super.destroy(options);
    for (const shard of shards) {
      const s = shard as { internalConnect?: () => Promise<void>; connection?: { readyState: number; close(): void } | null };
      s.internalConnect = async () => undefined;
      // A socket still opening when destroyed is left to itself by discord.js: close it too.
      if (s.connection && s.connection.readyState <= 1) s.connection.close();
    }
  }
}

function fatalError(closeCode: number, botId: string, cause?: unknown): AdapterFatalError {
  const known = FATAL_CLOSE_CODES[closeCode]!;
  return new AdapterFatalError(known.code, `discord bot "${botId}" stopped: ${known.fix}`, cause === undefined ? undefined : { cause });
}

export async function runGateway(options: GatewayOptions, handlers: GatewayHandlers, signal: AbortSignal): Promise<void> {
  const { logger, botId } = options;
  const client = new Client({
    intents: [...GATEWAY_INTENTS],
    partials: [Partials.Channel],
    rest: { api: options.apiRoot, version: DISCORD_DEFAULTS.apiVersion },
    allowedMentions: { parse: [] },
    failIfNotExists: false,
    ws: { buildStrategy: (manager: ConstructorParameters<typeof SimpleShardingStrategy>[0]) => new FinalShardingStrategy(manager) },
  });
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const ended = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let closeCode: number | undefined;
  let quickCloses = 0;
  const maxQuick = options.maxQuickReconnects ?? DISCORD_DEFAULTS.maxQuickReconnects;

  client.on(Events.MessageCreate, (message) => handlers.onMessage(message));
  client.on(Events.InteractionCreate, (interaction) => {
    if (interaction.isChatInputCommand()) handlers.onCommand(interaction);
  });
  client.once(Events.ClientReady, (ready) => {
    quickCloses = 0;
    const me = { id: ready.user.id, username: ready.user.username, applicationId: ready.application?.id ?? ready.user.id, guilds: ready.guilds.cache.size };
    void Promise.resolve(handlers.onReady(me)).catch((err) => logger.warn({ err: describeError(err) }, 'discord ready handler failed'));
  });
  client.on(Events.ShardResume, (_shard, replayed) => {
    quickCloses = 0;
    logger.info({ replayed }, 'discord gateway resumed');
  });
  client.on(Events.ShardReady, () => (quickCloses = 0));
  client.on(Events.ShardReconnecting, () => {
    if (signal.aborted) return;
    quickCloses++;
    if (quickCloses > maxQuick) {
      settle.reject(new BotHostError('DISCORD_GATEWAY_UNSTABLE', `the Discord gateway closed ${quickCloses} times without a successful resume`));
      return;
    }
    logger.warn({ attempt: quickCloses }, 'discord gateway disconnected; resuming');
  });
  // discord.js reports only the closes it will not recover from here.
  client.on(Events.ShardDisconnect, (event) => {
    closeCode = event.code;
    if (FATAL_CLOSE_CODES[event.code]) settle.reject(fatalError(event.code, botId));
    else settle.reject(new BotHostError('DISCORD_GATEWAY_CLOSED', `the Discord gateway closed the connection (${event.code})`));
  });
  client.on(Events.ShardError, (err) => logger.warn({ err: describeError(err) }, 'discord gateway error'));
  client.on(Events.Error, (err) => logger.warn({ err: describeError(err) }, 'discord client error'));

  const onAbort = () => settle.resolve();
  if (signal.aborted) return;
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const login = client.login(options.token).catch((err: unknown) => {
      const fatal = fatalCloseOf(closeCode, err);
      throw fatal !== undefined ? fatalError(fatal, botId, err) : new BotHostError('DISCORD_LOGIN_FAILED', `could not connect to the Discord gateway: ${describeError(err)}`, { cause: err });
    });
    await Promise.race([login, ended]);
    await ended;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await client.destroy().catch(() => undefined);
    client.removeAllListeners();
  }
}
