/**
 * Webhook mode: a node:http server Telegram POSTs updates to.
 *
 * - Only `POST <path>`; the secret header is checked first (constant time): wrong or missing →
 *   401 and the body is not even read, nothing is enqueued.
 * - The body is size-limited and must be a JSON object with an integer `update_id` (400 else).
 * - 200 once the handler returned (the turn is durably accepted, not run: the agent may take
 *   minutes, the ack takes milliseconds). A retryable refusal (queue unavailable) → 503 so
 *   Telegram delivers the update again; any other handler error → 200 plus a log line, so one
 *   poisonous update is not retried forever.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Update } from 'grammy/types';
import type { AdapterLogger } from '../../src/core/adapter.js';
import { BotHostError } from '../../src/core/errors.js';
import { TELEGRAM_DEFAULTS } from './config.js';
import { describe } from './send.js';
import { SECRET_HEADER, verifySecretToken } from './verify.js';

export interface WebhookServerOptions {
  host: string;
  port: number;
  path: string;
  secret: string;
  handle(update: Update): Promise<void>;
  isRetryable(err: unknown): boolean;
  logger: AdapterLogger;
  maxBodyBytes?: number;
}

export interface WebhookServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const server: Server = createServer((req, res) => {
    void serve(req, res, options).catch((err) => {
      options.logger.error({ err: describe(err) }, 'webhook request failed');
      if (!res.headersSent) reply(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new BotHostError('WEBHOOK_LISTEN_FAILED', `cannot listen on ${options.host}:${options.port} for the telegram webhook (${err.code ?? err.message}); choose another webhook.port or stop what uses it`, { cause: err })),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, o: WebhookServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== o.path) return reply(res, 404, 'not found');
  if (req.method !== 'POST') return reply(res, 405, 'use POST');
  if (!verifySecretToken(req.headers[SECRET_HEADER], o.secret)) {
    o.logger.warn({ from: req.socket.remoteAddress }, 'webhook request with a wrong or missing secret token refused (401)');
    req.resume();
    return reply(res, 401, 'unauthorized');
  }
  const body = await readBody(req, o.maxBodyBytes ?? TELEGRAM_DEFAULTS.webhookMaxBodyBytes);
  if (body === null) return reply(res, 413, 'body too large');
  let update: unknown;
  try {
    update = JSON.parse(body);
  } catch {
    return reply(res, 400, 'body is not JSON');
  }
  if (typeof update !== 'object' || update === null || !Number.isSafeInteger((update as { update_id?: unknown }).update_id)) {
    return reply(res, 400, 'not a Telegram update (no integer update_id)');
  }
  try {
    await o.handle(update as Update);
  } catch (err) {
    if (o.isRetryable(err)) {
      o.logger.warn({ err: describe(err) }, 'update not accepted (queue unavailable); telegram will deliver it again');
      return reply(res, 503, 'try again');
    }
    o.logger.error({ update: (update as Update).update_id, err: describe(err) }, 'update could not be handled; skipped');
  }
  reply(res, 200, '');
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body as text, or null when it is larger than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) tooBig = true;
      else parts.push(d);
    });
    req.on('end', () => resolve(tooBig ? null : Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
