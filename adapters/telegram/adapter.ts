/**
 * The Telegram adapter: grammY against the Bot API, feeding the host's ingress and giving the
 * host Telegram's reply calls (`outbound.ts`). Long polling runs under the host's connection
 * hold (leadership when configured); a webhook can run in any number of processes.
 *
 * An update is acknowledged (offset confirmed, webhook answered 200) only after `host.ingest`
 * resolved; on `retry` the handler throws RetryLater, so the poller does not advance and the
 * webhook answers 5xx — Telegram delivers the update again.
 */
import { Bot, type Context } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import { AdapterFatalError, type AdapterHost, type AdapterLogger, type PlatformAdapter } from '../../src/core/adapter.js';
import { adapterLifecycle } from '../../src/core/adapter-lifecycle.js';
import { BotHostError } from '../../src/core/errors.js';
import { decisionOf } from './api-errors.js';
import { TELEGRAM_DEFAULTS, type TelegramAdapterConfig } from './config.js';
import { normalizeUpdate } from './normalize.js';
import { telegramOutbound } from './outbound.js';
import { LongPoller } from './polling.js';
import { rateLimitTransformer, redactToken } from './rate-limit.js';
import { describe } from './send.js';
import { startWebhookServer, type WebhookServer } from './webhook.js';

/** The host did not take the update: do not confirm it to Telegram. */
class RetryLater extends Error {}

function isRetryable(err: unknown): boolean {
  const inner = (err as { error?: unknown })?.error ?? err; // grammY wraps handler errors in BotError
  return inner instanceof RetryLater;
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
  const logger = redactingLogger(host.logger, token);
  // A stuck Bot API call must not hold the poller for grammY's default 500 s; long polls need
  // their own timeout plus a margin.
  const bot = new Bot(token, { client: { apiRoot: config.api_root, timeoutSeconds: Math.max(TELEGRAM_DEFAULTS.apiTimeoutSeconds, config.poll_timeout_s + 15) } });
  bot.api.config.use(
    rateLimitTransformer({
      onWait: (method, seconds) => {
        host.rateLimited?.();
        logger.warn({ method, seconds }, 'telegram rate limit (429): waiting retry_after');
      },
    }),
  );
  const outbound = telegramOutbound({ api: bot.api, logger, parseMode: config.parse_mode });
  let username: string | undefined;
  let webhook: WebhookServer | undefined;
  let polling: Promise<void> | undefined;

  bot.on('message', async (ctx: Context) => {
    const inbound = normalizeUpdate(ctx.update, { botId: config.id, me: ctx.me });
    if (!inbound) return;
    // Forum topics as their own sessions, when configured; direct chats stay per user.
    const perTopic = config.forum_topics === 'per_thread' && inbound.threadId !== undefined && !inbound.isDirect;
    const outcome = await host.ingest(inbound, perTopic ? { scope: 'per_thread' } : {});
    logger.debug({ message: inbound.messageId, outcome }, 'telegram message');
    if (outcome === 'retry') throw new RetryLater('the host did not accept the message');
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
          throw new AdapterFatalError('TELEGRAM_UNAUTHORIZED', `Telegram rejected the token of bot "${config.id}" (${describe(err)}); check TELEGRAM_BOT_TOKEN or bots.yaml`, { cause: err });
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
    username = me.username;
    host.identify({ username: me.username });
    // Bot API calls work from any process, so replies flow whatever process polls. The route
    // stays after stop(): replies of turns still running are delivered while the host drains.
    host.deliver();
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
      logger.info({ username: me.username, listen: `${w.host}:${webhook.port}${path}` }, 'telegram webhook ready');
      return;
    }
    const poller = new LongPoller({
      api: {
        getUpdates: (params, s) => bot.api.getUpdates(params as never, s as never),
        deleteWebhook: (params) => bot.api.deleteWebhook(params),
      },
      handle,
      isRetryable,
      logger,
      timeoutSeconds: config.poll_timeout_s,
      dropPendingUpdates: config.drop_pending_updates,
    });
    polling = host.holdConnection((s) => poller.run(s), lifecycle.stopping).catch((err: Error) => {
      logger.error({ err: err.message }, 'telegram bot stopped');
      host.onFatal?.(err);
    });
    logger.info({ username: me.username }, 'telegram polling started');
  }

  const lifecycle = adapterLifecycle(`telegram bot "${config.id}"`, run, async () => {
    await polling;
    await webhook?.close();
  });

  return {
    platform: 'telegram',
    botId: config.id,
    outbound,
    get account() {
      return username ? `@${username}` : undefined;
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

/** Every log line goes through here: the token is removed from any text. */
function redactingLogger(logger: AdapterLogger, token: string): AdapterLogger {
  const clean = (obj: object): object => JSON.parse(redactToken(JSON.stringify(obj), token)) as object;
  return {
    debug: (o, m) => logger.debug(clean(o), m && redactToken(m, token)),
    info: (o, m) => logger.info(clean(o), m && redactToken(m, token)),
    warn: (o, m) => logger.warn(clean(o), m && redactToken(m, token)),
    error: (o, m) => logger.error(clean(o), m && redactToken(m, token)),
  };
}
