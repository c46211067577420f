/**
 * The Slack adapter: bolt's `App` (listeners, authorization, event routing) with this adapter's
 * receivers — signed HTTP events or Socket Mode — so an event is acknowledged only after the
 * host took it, and a WebClient whose own retries are off (429 handled in `SlackApi`).
 *
 * @example
 * const adapter = await createSlackAdapter(SlackAdapterConfig.parse(entry), host);
 * await adapter.start();   // resolves once listening (http) or connected (socket)
 * await adapter.stop();
 */
import { App, webApi } from '@slack/bolt';
import { AdapterFatalError, type AdapterHost, type IngestOptions, type PlatformAdapter } from '../../src/core/adapter.js';
import { adapterLifecycle } from '../../src/core/adapter-lifecycle.js';
import { BotHostError } from '../../src/core/errors.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { decisionOf, describeSlackError } from './api-errors.js';
import { modeOf, SLACK_DEFAULTS, type SlackAdapterConfig } from './config.js';
import type { IngressSlot } from './dispatch.js';
import { SlackHttpReceiver } from './http-receiver.js';
import { boltLogger, redactingLogger } from './logging.js';
import { isDirectChannel, isUserMessage, normalizeCommand, normalizeEvent, threadOf, type SlackCommandBody, type SlackEventBody } from './normalize.js';
import { postJson, SlackOutbound } from './outbound.js';
import { SlackSocketReceiver } from './socket-receiver.js';
import { ThreadMembership } from './thread-membership.js';
import { SlackApi } from './web-api.js';


interface Identity {
  userId: string;
  botId?: string;
  teamId?: string;
  user?: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function createSlackAdapter(config: SlackAdapterConfig, host: AdapterHost): Promise<PlatformAdapter> {
  const token = config.token;
  if (!token) throw new BotHostError('SLACK_TOKEN_MISSING', `slack bot "${config.id}" has no token: set SLACK_BOT_TOKEN or add \`token: \${SLACK_BOT_TOKEN}\` to its bots.yaml entry`);
  const secrets = [token, config.signing_secret ?? '', config.app_token ?? ''];
  const logger = redactingLogger(host.logger, secrets, config.id);
  const sdkLogger = boltLogger(logger);
  const clientOptions = { slackApiUrl: config.api_url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: config.api_timeout_ms, logger: sdkLogger as never };
  const client = new webApi.WebClient(token, clientOptions);
  const lifecycle = adapterLifecycle(`slack bot "${config.id}"`, (s) => run(s).then(() => {
    running = true;
  }), async () => {
    await holding?.catch(() => undefined);
    await receiver.stop();
  });
  let identity: Identity | undefined;
  let holding: Promise<void> | undefined;
  let running = false;

  /** Refused for good after start (a failing start rejects instead). */
  const fatal = (err: Error) => {
    if (!running || lifecycle.stopping.aborted) return;
    logger.error({ code: (err as BotHostError).code, err: err.message }, 'slack bot stopped');
    host.onFatal?.(err);
    void adapter.stop();
  };
  const api = new SlackApi({ client: client as never, logger, botId: config.id, onFatal: fatal, onRateLimited: () => host.rateLimited?.() });
  const membership = new ThreadMembership({
    api,
    logger,
    capacity: SLACK_DEFAULTS.threadMemory,
    negativeTtlMs: SLACK_DEFAULTS.threadNegativeTtlMs,
    self: () => ({ userId: identity?.userId ?? '', ...(identity?.botId ? { botId: identity.botId } : {}) }),
  });
  const outbound = new SlackOutbound({
    api,
    logger,
    statusEmoji: config.status_emoji,
    maxMessageLength: SLACK_DEFAULTS.maxMessageLength,
    onPostedInThread: (channel, ts) => membership.record(channel, ts),
    postResponse: postJson,
  });

  const receiver =
    modeOf(config) === 'socket'
      ? new SlackSocketReceiver({
          appToken: config.app_token!,
          apiUrl: config.api_url,
          logger,
          clientLogger: sdkLogger,
          botId: config.id,
          clientPingTimeoutMs: config.client_ping_timeout_ms,
          serverPingTimeoutMs: config.server_ping_timeout_ms,
          apiTimeoutMs: config.api_timeout_ms,
        })
      : new SlackHttpReceiver({
          host: config.http.host,
          port: config.http.port,
          path: config.http.path,
          signingSecret: config.signing_secret!,
          maxBodyBytes: SLACK_DEFAULTS.maxBodyBytes,
          maxAgeSeconds: SLACK_DEFAULTS.signatureMaxAgeSeconds,
          logger,
          botId: config.id,
        });

  const app = new App({
    receiver: receiver as never,
    // The identity comes from our own auth.test at start, so bolt makes no hidden calls.
    authorize: async () => ({ botToken: token, botUserId: identity?.userId, botId: identity?.botId, teamId: identity?.teamId }),
    logger: sdkLogger as never,
    clientOptions,
    convoStore: false,
  });
  app.error(async (err) => {
    logger.error({ err: describeSlackError((err as { original?: unknown }).original ?? err) }, 'slack listener failed');
  });

  /** Runs `work` for one delivery and records its outcome in the receiver's slot. */
  const settle = async (context: Record<string, unknown>, work: () => Promise<IngressSlot['outcome']>) => {
    const slot = (context.bothost ?? {}) as IngressSlot;
    try {
      slot.outcome = await work();
    } catch (err) {
      slot.failed = true;
      logger.error({ err: (err as Error).message }, 'slack event could not be handed to the host; slack will deliver it again');
    }
  };

  async function ingestEvent(body: SlackEventBody, retryNum: number): Promise<IngressSlot['outcome']> {
    const event = body.event;
    const self = identity;
    if (!self || !isUserMessage(event, { botUserId: self.userId, ...(self.botId ? { slackBotId: self.botId } : {}) })) return 'ignored';
    const direct = isDirectChannel(event);
    if (!direct && config.allowed_channels.length > 0 && !config.allowed_channels.includes(event.channel)) return 'ignored';
    const thread = threadOf(event);
    const mentioned = event.type === 'app_mention' || (event.text ?? '').includes(`<@${self.userId}>`);
    // A channel message mentioning the bot also comes as `app_mention` (same channel:ts), maybe to
    // another process: only the app_mention is taken, so the pair is one event wherever it lands.
    if (event.type === 'message' && mentioned && isTwinOfMention(event.channel_type)) return 'ignored';
    const inBotThread = !direct && thread !== undefined && !mentioned ? await membership.has(event.channel, thread) : false;
    const inbound = normalizeEvent(body, { botId: config.id, botUserId: self.userId, ...(self.botId ? { slackBotId: self.botId } : {}), replyInThread: config.reply_in_thread, inBotThread });
    if (!inbound) return 'ignored';
    // A retry this process had not seen: another process (or this one before a restart) may have
    // answered it already.
    if (retryNum > 0) outbound.suspect(inbound.messageId);
    outbound.ingestedHere(inbound.messageId);
    const outcome = await host.ingest(inbound, scopeOf(inbound));
    logger.debug({ message: inbound.messageId, event: event.type, outcome }, 'slack message');
    return outcome;
  }

  function scopeOf(inbound: InboundMessage): IngestOptions | undefined {
    return config.threads === 'per_thread' && !inbound.isDirect && inbound.threadId !== undefined ? { scope: 'per_thread' } : undefined;
  }

  const retryOf = (context: Record<string, unknown>) => (typeof context.retryNum === 'number' ? context.retryNum : 0);
  app.event('message', async ({ body, context }) => settle(context, () => ingestEvent(body as SlackEventBody, retryOf(context))));
  app.event('app_mention', async ({ body, context }) => settle(context, () => ingestEvent(body as SlackEventBody, retryOf(context))));
  for (const name of ['tokens_revoked', 'app_uninstalled'] as const) {
    app.event(name, async ({ body }) => {
      const revoked = name === 'app_uninstalled' || ((body as { event?: { tokens?: { bot?: string[] } } }).event?.tokens?.bot?.length ?? 0) > 0;
      if (revoked) fatal(new AdapterFatalError('SLACK_APP_REVOKED', `slack reports ${name} for bot "${config.id}": reinstall the app to the workspace and update SLACK_BOT_TOKEN`));
    });
  }
  app.command(/^\/.+/, async ({ command, ack, context }) => {
    await ack();
    await settle(context, async () => {
      const inbound = normalizeCommand(command as SlackCommandBody, { botId: config.id });
      if (!inbound) return 'ignored';
      const outcome = await host.ingest(inbound);
      if (outcome === 'retry' && command.response_url) {
        await postJson(command.response_url, { response_type: 'ephemeral', text: 'The bot is busy right now (its queue is unavailable); please try again in a minute.' }).catch(() => undefined);
      }
      return outcome;
    });
  });

  /** auth.test until it answers: a refused token is fatal, an unreachable Slack is retried. */
  async function whoAmI(signal: AbortSignal): Promise<Identity> {
    let wait = 500;
    for (;;) {
      try {
        const r = await api.call<{ user_id?: string; bot_id?: string; team_id?: string; user?: string }>('auth.test', {});
        if (!r.user_id) throw new BotHostError('SLACK_AUTH_TEST', 'auth.test returned no user_id');
        return { userId: r.user_id, ...(r.bot_id ? { botId: r.bot_id } : {}), ...(r.team_id ? { teamId: r.team_id } : {}), ...(r.user ? { user: r.user } : {}) };
      } catch (err) {
        if (err instanceof AdapterFatalError) throw err;
        if (signal.aborted) throw new BotHostError('ADAPTER_STOPPED', `slack bot "${config.id}" was stopped while connecting`);
        if (decisionOf(err) === 'fail') throw new BotHostError('SLACK_AUTH_TEST', `auth.test failed for slack bot "${config.id}" (${describeSlackError(err)})`, { cause: err });
        logger.warn({ err: describeSlackError(err), apiUrl: originOf(config.api_url), retryInMs: wait }, 'cannot reach the Slack Web API; retrying');
        await sleep(wait, signal);
        wait = Math.min(wait * 2, 30_000);
      }
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    identity = await whoAmI(signal);
    if (identity.user) host.identify({ username: identity.user });
    if (receiver instanceof SlackHttpReceiver) {
      await receiver.start();
      // Stays after stop(): replies of turns still running are delivered while the host drains.
      host.deliver();
      logger.info({ user: identity.user, team: identity.teamId, listen: `${config.http.host}:${receiver.port}${config.http.path}` }, 'slack events endpoint ready (http)');
      return;
    }
    const socket = receiver;
    await new Promise<void>((resolve, reject) => {
      let first = true;
      holding = host.holdConnection(
        (s) =>
          socket.connect(s, () => {
            if (!first) return;
            first = false;
            host.deliver();
            logger.info({ user: identity?.user, team: identity?.teamId }, 'slack socket mode ready');
            resolve();
          }),
        signal,
      );
      holding.then(
        () => (first ? reject(new BotHostError('ADAPTER_STOPPED', `slack bot "${config.id}" was stopped while connecting`)) : undefined),
        (err: Error) => (first ? reject(err) : fatal(err)),
      );
    });
  }

  const adapter: PlatformAdapter = {
    platform: 'slack',
    botId: config.id,
    outbound,
    get account() {
      return identity?.user ? `@${identity.user}` : undefined;
    },
    start: lifecycle.start,
    stop: lifecycle.stop,
  };
  return adapter;
}

/** Channels where Slack sends `app_mention` for a mention (group DMs are read as messages). */
function isTwinOfMention(channelType: string | undefined): boolean {
  return channelType === 'channel' || channelType === 'group';
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}
