/**
 * Socket Mode: bolt's own Socket Mode client (`@slack/socket-mode`, the version bolt ships)
 * with its automatic reconnection off — this receiver owns the connection's life:
 *
 * - `connect(signal)` opens a connection (apps.connections.open → WebSocket → `hello`) and keeps
 *   it until the signal aborts. When Slack closes it (a `disconnect` envelope: refresh_requested,
 *   warning) or the heartbeat watchdog finds it silent (no pong to the client's pings within
 *   `clientPingTimeoutMs`, no ping from Slack within `serverPingTimeoutMs`), a new one is opened
 *   at once; a connection that dies within seconds of opening is reported as a failure so the
 *   caller backs off. A refused app token (invalid_auth …) is an AdapterFatalError.
 * - Each envelope is acknowledged only once its event's ingest outcome is known; `retry` is left
 *   unacknowledged, so Slack delivers it again. Slash commands are acknowledged at once.
 */
import { createRequire } from 'node:module';
import type { SocketModeReceiver } from '@slack/bolt';
import { AdapterFatalError, type AdapterLogger } from '../../src/core/adapter.js';
import { decisionOf, describeSlackError, slackErrorOf } from './api-errors.js';
import { dispatchToBolt, type EventProcessor } from './dispatch.js';

type SocketModeClient = SocketModeReceiver['client'];
type SocketModeClientClass = new (options: Record<string, unknown>) => SocketModeClient;

/** The Socket Mode client bolt itself depends on (not hoisted, so resolved from bolt). */
function socketModeClientClass(): SocketModeClientClass {
  const fromBolt = createRequire(createRequire(import.meta.url).resolve('@slack/bolt'));
  return (fromBolt('@slack/socket-mode') as { SocketModeClient: SocketModeClientClass }).SocketModeClient;
}

export interface SocketReceiverOptions {
  appToken: string;
  apiUrl: string;
  logger: AdapterLogger;
  /** bolt-style logger for the Socket Mode client's own messages. */
  clientLogger: unknown;
  botId: string;
  clientPingTimeoutMs: number;
  serverPingTimeoutMs: number;
  /** Web API call timeout for apps.connections.open. */
  apiTimeoutMs: number;
  /** A connection shorter than this counts as a failure (the caller backs off). Default 5 s. */
  minHealthyMs?: number;
}

interface SlackEventArgs {
  ack: (response?: unknown) => Promise<void>;
  envelope_id?: string;
  type?: string;
  body?: Record<string, unknown>;
  retry_num?: number;
  retry_reason?: string;
}

export class SlackSocketReceiver {
  private app: EventProcessor | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private connections = 0;

  constructor(private readonly o: SocketReceiverOptions) {}

  init(app: EventProcessor): void {
    this.app = app;
  }

  /** bolt calls these through App.start/stop; the connection is run by `connect` instead. */
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** How many connections were opened (logs, tests). */
  get opened(): number {
    return this.connections;
  }

  /** Holds a Socket Mode connection until `signal` aborts (see the file comment). */
  async connect(signal: AbortSignal, onConnected?: () => void): Promise<void> {
    while (!signal.aborted) {
      const openedAt = Date.now();
      const reason = await this.runOneConnection(signal, onConnected);
      if (signal.aborted) return;
      const lived = Date.now() - openedAt;
      if (lived < (this.o.minHealthyMs ?? 5_000) && reason !== 'disconnect requested') {
        throw new Error(`slack socket mode connection closed after ${lived} ms (${reason})`);
      }
      this.o.logger.info({ reason, livedMs: lived }, 'slack socket mode connection closed; opening a new one');
    }
  }

  /** Opens one connection and resolves (with why) when it closed. */
  private async runOneConnection(signal: AbortSignal, onConnected?: () => void): Promise<string> {
    const Client = socketModeClientClass();
    const client = new Client({
      appToken: this.o.appToken,
      autoReconnectEnabled: false,
      clientPingTimeout: this.o.clientPingTimeoutMs,
      serverPingTimeout: this.o.serverPingTimeoutMs,
      logger: this.o.clientLogger,
      clientOptions: { slackApiUrl: this.o.apiUrl, retryConfig: { retries: 0 }, timeout: this.o.apiTimeoutMs },
    });
    let reason = 'closed';
    client.on('ws_message', (data: unknown) => {
      if (typeof data !== 'string' || !data.includes('"disconnect"')) return;
      try {
        const m = JSON.parse(data) as { type?: string; reason?: string };
        if (m.type === 'disconnect') reason = 'disconnect requested';
        if (m.type === 'disconnect') this.o.logger.info({ slackReason: m.reason }, 'slack asked to reconnect (disconnect envelope)');
      } catch {
        // not JSON: the client ignores it as well
      }
    });
    client.on('slack_event', (args: SlackEventArgs) => {
      const work = this.handle(args);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    let isClosed = false;
    const closed = new Promise<void>((resolve) =>
      client.once('disconnected', () => {
        isClosed = true;
        resolve();
      }),
    );
    const abort = () => void client.disconnect().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    try {
      try {
        await client.start();
      } catch (err) {
        throw this.classifyOpenError(err);
      }
      this.connections++;
      this.o.logger.info({ connection: this.connections }, 'slack socket mode connected');
      onConnected?.();
      await closed;
      return signal.aborted ? 'stopped' : reason;
    } finally {
      signal.removeEventListener('abort', abort);
      client.removeAllListeners('slack_event');
      // disconnect() waits for a 'disconnected' that a closed client never emits again.
      if (!isClosed) await Promise.race([client.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
    }
  }

  private classifyOpenError(err: unknown): Error {
    if (decisionOf(err) === 'fatal' || slackErrorOf(err) === 'invalid_auth') {
      return new AdapterFatalError(
        'SLACK_APP_TOKEN_REJECTED',
        `Slack refused the app-level token of bot "${this.o.botId}" (${describeSlackError(err)} on apps.connections.open): check SLACK_APP_TOKEN (an xapp- token with connections:write) and that Socket Mode is enabled for the app`,
        { cause: err },
      );
    }
    return new Error(`cannot open a slack socket mode connection (${describeSlackError(err)})`, { cause: err });
  }

  private async handle(args: SlackEventArgs): Promise<void> {
    if (!this.app || !args.body || (args.type !== 'events_api' && args.type !== 'slash_commands' && args.type !== 'interactive')) {
      if (args.envelope_id) await args.ack().catch(() => undefined);
      return;
    }
    let acked = false;
    const ackOnce = async (response?: unknown) => {
      if (acked) return;
      acked = true;
      const body = response === undefined ? undefined : typeof response === 'string' ? { text: response } : response;
      await args.ack(body).catch((err: Error) => this.o.logger.warn({ error: err.message }, 'could not acknowledge a slack envelope; slack will deliver it again'));
    };
    const result = await dispatchToBolt(
      this.app,
      { body: args.body, ...(args.retry_num !== undefined ? { retryNum: args.retry_num } : {}), ...(args.retry_reason ? { retryReason: args.retry_reason } : {}) },
      (early) => void (early.ack ? ackOnce(early.response) : undefined),
    );
    if (result.ack) await ackOnce(result.response);
    else this.o.logger.warn({ retryNum: args.retry_num ?? 0 }, 'slack event not accepted (queue unavailable); not acknowledged so slack delivers it again');
  }
}
