/**
 * The Telegram adapter: grammY against the Bot API (or any server at `api_root`), long polling
 * (with Redis leadership when available) or a webhook, feeding the host's ingress chain and
 * delivering replies with streaming edits, typing, chunking and 429 handling.
 *
 * @example
 * const adapter = createTelegramAdapter(TelegramAdapterConfig.parse(entry), host);
 * await adapter.start();   // resolves once polling / listening
 * await adapter.stop();
 */
import { Bot, type Context } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import { botPolicyOf, type AdapterHost, type AdapterLogger, type BotPolicy, type Leadership, type PlatformAdapter } from '../../src/core/adapter.js';
import { BotHostError, ConfigError } from '../../src/core/errors.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { decisionOf } from './api-errors.js';
import { TELEGRAM_DEFAULTS, TelegramAdapterConfig } from './config.js';
import { TelegramDelivery, targetOf } from './delivery.js';
import { normalizeUpdate } from './normalize.js';
import { LongPoller } from './polling.js';
import { rateLimitTransformer, redactToken } from './rate-limit.js';
import { plainChunks } from './render.js';
import { describe, sendChunk } from './send.js';
import { startWebhookServer, type WebhookServer } from './webhook.js';

export { TelegramAdapterConfig, TELEGRAM_DEFAULTS };

/** Errors that mean "the queue did not take it; try the update again later". */
const RETRYABLE_CODES = new Set(['STORE_FAILED', 'QUEUE_CLOSED', 'LOCK_TIMEOUT']);
function isRetryable(err: unknown): boolean {
  const inner = (err as { error?: unknown })?.error ?? err; // grammY wraps handler errors in BotError
  return inner instanceof BotHostError ? RETRYABLE_CODES.has(inner.code) : false;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export function createTelegramAdapter(config: TelegramAdapterConfig, host: AdapterHost): PlatformAdapter {
  const token = config.token;
  if (!token) {
    throw new BotHostError('TELEGRAM_TOKEN_MISSING', `telegram bot "${config.id}" has no token: set TELEGRAM_BOT_TOKEN or add \`token: \${TELEGRAM_BOT_TOKEN}\` to its bots.yaml entry`);
  }
  const logger = redactingLogger(host.logger, token, config.id);
  const leadership = chooseLeadership(config, host);
  // A stuck Bot API call must not hold the poller (commands are answered inline) for grammY's
  // default 500 s; long polls need their own timeout plus a margin.
  const bot = new Bot(token, { client: { apiRoot: config.api_root, timeoutSeconds: Math.max(TELEGRAM_DEFAULTS.apiTimeoutSeconds, config.poll_timeout_s + 15) } });
  bot.api.config.use(rateLimitTransformer({ onWait: (method, seconds) => logger.warn({ method, seconds }, 'telegram rate limit (429): waiting retry_after') }));
  const delivery = new TelegramDelivery({
    api: bot.api,
    logger,
    parseMode: config.parse_mode,
    editIntervalMs: config.stream_edit_interval_ms,
    typingIntervalMs: config.typing_interval_ms,
  });
  const stopping = new AbortController();
  let policy: BotPolicy | undefined;
  let poller: LongPoller | undefined;
  let webhook: WebhookServer | undefined;
  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  /** Direct answers (commands, refusals): plain text, in the message's chat and topic. */
  const replier = (inbound: InboundMessage) => async (text: string) => {
    const target = targetOf({ sessionId: '', agent: '', inbound });
    let first = true;
    for (const chunk of plainChunks(text)) {
      await sendChunk(bot.api, target, { text: chunk, plain: chunk }, logger, first);
      first = false;
    }
  };

  bot.on('message', async (ctx: Context) => {
    const inbound = normalizeUpdate(ctx.update, { botId: config.id, me: ctx.me });
    if (!inbound || !policy) return;
    // Forum topics as their own sessions, when configured; direct chats stay per user.
    const rules = config.forum_topics === 'per_thread' && inbound.threadId !== undefined && !inbound.isDirect ? { ...policy, scope: 'per_thread' as const } : policy;
    const outcome = await host.ingest(rules, inbound, replier(inbound));
    logger.debug({ message: inbound.messageId, outcome }, 'telegram message');
    if (outcome === 'enqueued') delivery.started({ sessionId: '', agent: rules.agent, inbound });
  });

  const handle = (update: Update) => bot.handleUpdate(update);

  async function connect(signal: AbortSignal): Promise<UserFromGetMe> {
    let wait: number = TELEGRAM_DEFAULTS.backoffMs.initial;
    for (;;) {
      try {
        await bot.init(signal as never);
        return bot.botInfo;
      } catch (err) {
        if (decisionOf(err) === 'fatal') {
          throw new BotHostError('TELEGRAM_UNAUTHORIZED', `Telegram rejected the token of bot "${config.id}" (${describe(err)}); check TELEGRAM_BOT_TOKEN or bots.yaml`, { cause: err });
        }
        if (signal.aborted) throw new BotHostError('ADAPTER_STOPPED', `telegram bot "${config.id}" was stopped while connecting`);
        logger.warn({ err: describe(err), apiRoot: originOf(config.api_root), retryInMs: wait }, 'cannot reach the Telegram Bot API; retrying');
        await sleep(wait, signal);
        wait = Math.min(wait * 2, TELEGRAM_DEFAULTS.backoffMs.max);
      }
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    const me = await connect(signal);
    policy = botPolicyOf(config, host.scope, me.username);
    // Stays registered after stop(): replies of turns still running are delivered while the host
    // drains its queue; the route dies with the host.
    host.delivery.register(config.id, delivery);
    if (config.set_commands) {
      await bot.api
        .setMyCommands(Object.entries(host.commands).map(([command, description]) => ({ command, description })))
        .catch((err) => logger.warn({ err: describe(err) }, 'setMyCommands failed; the command menu may be out of date'));
    }
    if (config.mode === 'webhook' && config.webhook) {
      const w = config.webhook;
      const path = w.path ?? (new URL(w.url).pathname || '/');
      webhook = await startWebhookServer({ host: w.host, port: w.port, path, secret: w.secret, handle, isRetryable, logger });
      try {
        await bot.api.setWebhook(w.url, { secret_token: w.secret, allowed_updates: ['message'], drop_pending_updates: config.drop_pending_updates });
      } catch (err) {
        await webhook.close();
        throw new BotHostError('TELEGRAM_WEBHOOK_REJECTED', `Telegram did not accept the webhook ${originOf(w.url)} (${describe(err)}); check webhook.url (Telegram needs https on port 443, 80, 88 or 8443)`, { cause: err });
      }
      logger.info({ bot: config.id, username: me.username, listen: `${w.host}:${webhook.port}${path}` }, 'telegram webhook ready');
      return;
    }
    poller = new LongPoller({
      api: {
        getUpdates: (params, s) => bot.api.getUpdates(params as never, s as never),
        deleteWebhook: (params) => bot.api.deleteWebhook(params),
      },
      handle,
      isRetryable,
      logger,
      ...(leadership ? { leadership } : {}),
      leaderName: config.id,
      timeoutSeconds: config.poll_timeout_s,
      dropPendingUpdates: config.drop_pending_updates,
      onFatal: (err) => {
        logger.error({ bot: config.id, err: err.message }, 'telegram bot stopped');
        host.onFatal?.(err);
      },
    });
    poller.start();
    logger.info({ bot: config.id, username: me.username, leadership: leadership?.describe ?? 'none (single process)' }, 'telegram polling started');
  }

  return {
    platform: 'telegram',
    botId: config.id,
    get account() {
      return policy?.username ? `@${policy.username}` : undefined;
    },
    start(signal?: AbortSignal) {
      if (stopped) return Promise.reject(new BotHostError('ADAPTER_STOPPED', `telegram bot "${config.id}" was stopped`));
      const s = signal ? AbortSignal.any([signal, stopping.signal]) : stopping.signal;
      started ??= run(s);
      return started;
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await started?.catch(() => undefined);
        await poller?.stop();
        await webhook?.close();
        // Only sends in flight are awaited here; replies of turns still running keep flowing.
        await delivery.idle();
      })();
      return stopped;
    },
  };
}

function chooseLeadership(config: TelegramAdapterConfig, host: AdapterHost): Leadership | undefined {
  if (config.mode !== 'polling' || config.leader === 'none') return undefined;
  const source = host.leadership;
  if (config.leader === 'redis' && !source) {
    throw new ConfigError(`bot "${config.id}" has leader: redis but no Redis is configured: set queue.redis_url (or a redis store) in bots.yaml, or REDIS_URL`, 'leader');
  }
  if (!source || (config.leader === 'auto' && !source.configured)) return undefined;
  return source.open({ ttlMs: config.leader_ttl_ms });
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/** Every log line goes through here: the token is removed from any text, the bot id added. */
function redactingLogger(logger: AdapterLogger, token: string, botId: string): AdapterLogger {
  const clean = (obj: object): object => JSON.parse(redactToken(JSON.stringify({ bot: botId, ...obj }), token)) as object;
  return {
    debug: (o, m) => logger.debug(clean(o), m && redactToken(m, token)),
    info: (o, m) => logger.info(clean(o), m && redactToken(m, token)),
    warn: (o, m) => logger.warn(clean(o), m && redactToken(m, token)),
    error: (o, m) => logger.error(clean(o), m && redactToken(m, token)),
  };
}
