/**
 * HTTP mode: a node:http server Slack POSTs events and slash commands to (one path, default
 * `/slack/events`), any number of processes behind a load balancer.
 *
 * - Every request is verified first (signature over the raw body, timestamp within 5 min):
 *   forged, tampered or replayed → 401 and nothing runs.
 * - `ssl_check` and `url_verification` are answered.
 * - An event is answered 200 only once its ingest outcome is known (the turn durably enqueued,
 *   or a duplicate / ignored); 503 when the queue refused it, so Slack redelivers. A slash
 *   command is answered as soon as its listener acknowledged it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdapterLogger } from '../../src/core/adapter.js';
import { BotHostError } from '../../src/core/errors.js';
import { dispatchToBolt, type Acknowledgement, type EventProcessor } from './dispatch.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySlackSignature } from './verify.js';

export interface HttpReceiverOptions {
  host: string;
  port: number;
  path: string;
  signingSecret: string;
  maxBodyBytes: number;
  maxAgeSeconds: number;
  logger: AdapterLogger;
  botId: string;
}

/** bolt's `Receiver` shape: `init(app)` then `start()` / `stop()`. */
export class SlackHttpReceiver {
  private app: EventProcessor | undefined;
  private server: Server | undefined;
  private closing: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: HttpReceiverOptions) {}

  init(app: EventProcessor): void {
    this.app = app;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : undefined;
  }

  async start(): Promise<Server> {
    if (this.server) return this.server;
    const server = createServer((req, res) => {
      const work = this.serve(req, res).catch((err) => {
        this.o.logger.error({ error: (err as Error).message }, 'slack request failed');
        if (!res.headersSent) reply(res, 500, '');
        else res.destroy();
      });
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new BotHostError('SLACK_LISTEN_FAILED', `cannot listen on ${this.o.host}:${this.o.port} for slack bot "${this.o.botId}" (${err.code ?? err.message}); choose another http.port or stop what uses it`, { cause: err }),
        ),
      );
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    this.server = server;
    return server;
  }

  /** Stops accepting requests and waits for the ones being answered. Safe to call twice. */
  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...this.inFlight]);
      server.closeAllConnections();
      await closed;
    })();
    return this.closing;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.o.path) return reply(res, 404, 'not found');
    if (req.method !== 'POST') return reply(res, 405, 'use POST');
    const raw = await readBody(req, this.o.maxBodyBytes);
    if (raw === null) return reply(res, 413, 'body too large');
    const verdict = verifySlackSignature({
      signingSecret: this.o.signingSecret,
      body: raw,
      signature: req.headers[SIGNATURE_HEADER],
      timestamp: req.headers[TIMESTAMP_HEADER],
      maxAgeSeconds: this.o.maxAgeSeconds,
    });
    if (!verdict.ok) {
      this.o.logger.warn({ from: req.socket.remoteAddress, reason: verdict.reason }, 'slack request refused (401): signature check failed');
      return reply(res, 401, '');
    }
    const body = parseBody(raw, String(req.headers['content-type'] ?? ''));
    if (!body) return reply(res, 400, 'malformed body');
    if (body.ssl_check === '1') return reply(res, 200, '');
    if (body.type === 'url_verification') return replyJson(res, { challenge: body.challenge });
    if (!this.app) return reply(res, 503, '');
    let answered = false;
    const answer = (a: Acknowledgement) => {
      if (answered) return;
      answered = true;
      if (!a.ack) {
        this.o.logger.warn({ retryNum: retryNumOf(req) }, 'slack event not accepted (queue unavailable); answering 503 so slack delivers it again');
        reply(res, 503, '');
      } else if (a.response === undefined) reply(res, 200, '');
      else if (typeof a.response === 'string') reply(res, 200, a.response);
      else replyJson(res, a.response);
    };
    const retryNum = retryNumOf(req);
    const retryReason = headerOf(req, 'x-slack-retry-reason');
    answer(await dispatchToBolt(this.app, { body, ...(retryNum !== undefined ? { retryNum } : {}), ...(retryReason ? { retryReason } : {}) }, answer));
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function retryNumOf(req: IncomingMessage): number | undefined {
  const v = headerOf(req, 'x-slack-retry-num');
  const n = v === undefined ? NaN : Number.parseInt(v, 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** JSON (events) or form-encoded (slash commands; interactivity's `payload` field). */
function parseBody(raw: Buffer, contentType: string): Record<string, unknown> | null {
  const text = raw.toString('utf8');
  try {
    if (contentType.includes('application/x-www-form-urlencoded')) {
      const form = Object.fromEntries(new URLSearchParams(text));
      if (typeof form.payload === 'string') return JSON.parse(form.payload) as Record<string, unknown>;
      return form;
    }
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function replyJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body, or null when it is larger than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) tooBig = true;
      else parts.push(d);
    });
    req.on('end', () => resolve(tooBig ? null : Buffer.concat(parts)));
    req.on('error', reject);
  });
}
