/**
 * The operations endpoints of a long-running role: `GET /metrics` (Prometheus text), `/healthz`
 * (the process is up) and `/readyz` (the store and Redis answer and the process is not draining;
 * 503 with the reason otherwise). Roles without an HTTP server of their own (`bot worker`,
 * `bot <platform>`, `bot start` without the gateway) listen on `metrics.host:metrics.port`; the
 * gateway mounts `/metrics` on its own server (its `/healthz` and `/readyz` already exist).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface ReadinessReport {
  ready: boolean;
  /** Why not ready, for the operator: `draining`, `store: timeout`, `redis: connection closed`. */
  reason?: string;
}

export interface ReadinessProbeOptions {
  /** One cheap store read (`sessionExists` of a probe id). */
  store: { sessionExists(id: string): Promise<boolean> };
  /** The queue's Redis, when the role uses one. */
  redis?: { ping(): Promise<string> };
  /** True once the role stopped accepting work (SIGTERM). */
  draining: () => boolean;
  /** A worker's: true while `bot queue drain` holds the queue (asked like the store, with a time limit). */
  queueDraining?: () => Promise<boolean>;
  timeoutMs?: number;
}

export const OPS_DEFAULTS = Object.freeze({ probeTimeoutMs: 2_000, probeSessionId: 'bot_ops_readyz-probe' });

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

/** `/readyz`'s verdict: store and Redis are asked in parallel, each with a time limit. */
export function readinessProbe(options: ReadinessProbeOptions): () => Promise<ReadinessReport> {
  const ms = options.timeoutMs ?? OPS_DEFAULTS.probeTimeoutMs;
  const ask = async (name: string, work: () => Promise<unknown>): Promise<string | undefined> => {
    try {
      await withTimeout(work(), ms);
      return undefined;
    } catch (err) {
      return `${name}: ${(err as Error).message}`;
    }
  };
  return async () => {
    if (options.draining()) return { ready: false, reason: 'draining: the process is shutting down' };
    if (options.queueDraining && (await withTimeout(options.queueDraining(), ms).catch(() => false))) {
      return { ready: false, reason: 'draining: the queue is paused by `bot queue drain` (`bot queue resume` undoes it)' };
    }
    const failures = await Promise.all([
      ask('store', () => options.store.sessionExists(OPS_DEFAULTS.probeSessionId)),
      options.redis ? ask('redis', () => options.redis!.ping()) : undefined,
    ]);
    const reason = failures.filter(Boolean).join('; ');
    return reason ? { ready: false, reason } : { ready: true };
  };
}

export async function serveMetrics(res: ServerResponse, metrics: Metrics): Promise<void> {
  try {
    const body = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
    res.end(body);
  } catch (err) {
    sendJson(res, 500, { error: `metrics collection failed: ${(err as Error).message}` });
  }
}

export interface OpsEndpoints {
  metrics?: Metrics;
  readiness: () => Promise<ReadinessReport>;
}

/** Answers `/metrics`, `/healthz`, `/readyz`; false for any other path (the caller's to serve). */
export async function handleOpsRequest(req: IncomingMessage, res: ServerResponse, ops: OpsEndpoints): Promise<boolean> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/metrics' && ops.metrics) await serveMetrics(res, ops.metrics);
  else if (path === '/healthz') sendJson(res, 200, { ok: true });
  else if (path === '/readyz') {
    const report = await ops.readiness();
    sendJson(res, report.ready ? 200 : 503, report);
  } else return false;
  return true;
}

export interface OpsServer {
  /** `http://host:port` once listening. */
  readonly url: string;
  readonly port: number;
  /** Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (port 0: any free port). Rejects with the listen error (EADDRINUSE)
 * so the caller decides whether that is fatal.
 */
export async function startOpsServer(options: OpsEndpoints & { host: string; port: number }): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    void handleOpsRequest(req, res, options).then((handled) => {
      if (!handled) sendJson(res, 404, { error: 'not found: try /metrics, /healthz or /readyz' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Scrapes must not keep a draining process alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
