/**
 * The gateway process side: one HTTP server that serves the web chat (`/` and its files, see
 * web-assets.ts), `/healthz` and `/readyz`, and upgrades WebSockets on `/` and `/ws` (the seed's
 * client connects to `ws://host:8765` with no path). Limits are enforced at the edge: connection
 * count (503 at upgrade), token check (401 at upgrade when a bad token is presented), frame size
 * (`maxPayload`: ws closes 1009 from the frame header, before reading the body). `start`/`stop`
 * are idempotent.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { BotsConfig, GatewayConfig } from '../config/schema.js';
import { BotHostError } from '../core/errors.js';
import type { Host } from '../host/host.js';
import type { Metrics } from '../ops/metrics.js';
import { serveMetrics } from '../ops/ops-server.js';
import { adminRoute } from './admin-route.js';
import { createAuthenticator, tokenFromRequest, type Authenticator } from './auth.js';
import { CLOSE, GATEWAY_BOT_ID, GATEWAY_TIMINGS, META } from './constants.js';
import { GatewayClient, type GatewayContext } from './client-connection.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { connectionCap, openFileLimit } from './connection-cap.js';
import { gatewayStoreKind } from '../sessions/web-sessions.js';
import { ingestWebMessage } from './ingest.js';
import { RateLimiter } from './rate-limit.js';
import { SessionRegistry } from './session-registry.js';
import { loadWebAssets, type WebAsset } from './web-assets.js';

export interface GatewayOptions {
  host: Host;
  logger: Logger;
  /** Overrides of bots.yaml `gateway.host` / `gateway.port` (port 0: any free port). */
  listenHost?: string;
  port?: number;
  env?: Record<string, string | undefined>;
  /** The open-file limit to fit connections in (default: read from the OS; null: none). */
  fdLimit?: number | null;
  /** Served on `/metrics` of this server (with `bothost_gateway_connections`); absent: no `/metrics`. */
  metrics?: Metrics;
}

export interface Gateway {
  /** `http://host:port/` once started. */
  readonly url: string;
  readonly port: number;
  readonly registry: SessionRegistry;
  /** Open connections. */
  readonly connections: number;
  /** Connections accepted at most: max_connections, lowered to fit the open-file limit. */
  readonly maxConnections: number;
  /** Lines for the operator about how the gateway runs (e.g. a lowered connection cap). */
  readonly notices: readonly string[];
  start(): Promise<void>;
  /** Stop accepting, close every client with 1001 (they resume elsewhere or later). */
  stop(): Promise<void>;
}

const WS_PATHS = new Set(['/', '/ws']);
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
};

export function createGateway(options: GatewayOptions): Gateway {
  const { host, logger } = options;
  const config: GatewayConfig = host.config.gateway;
  const auth: Authenticator = createAuthenticator(config, options.env ?? process.env);
  const registry = new SessionRegistry({ store: host.store, config, logger, shared: gatewayStoreKind(host.config as BotsConfig) === 'shared' });
  const ctx: GatewayContext = {
    host,
    config,
    registry,
    auth,
    messages: new RateLimiter(config.limits.messages_per_minute / 60, config.limits.burst),
    newSessions: new RateLimiter(GATEWAY_TIMINGS.newSessionsPerMinute / 60, GATEWAY_TIMINGS.newSessionsBurst),
    replayReads: new ConcurrencyLimit(GATEWAY_TIMINGS.replayReadsInFlight),
    storeWork: new ConcurrencyLimit(GATEWAY_TIMINGS.storeWorkInFlight),
    agentIds: Object.keys(host.config.agents),
    logger,
  };
  const cap = connectionCap(config.limits.max_connections, options.fdLimit === undefined ? openFileLimit() : options.fdLimit);
  const notices = cap.notice ? [cap.notice] : [];
  const clients = new Set<GatewayClient>();
  const admin = adminRoute(host, auth, logger);
  options.metrics?.watchConnections(() => clients.size);
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.max_frame_bytes, perMessageDeflate: false });
  let web = new Map<string, WebAsset>();
  const server = http.createServer((req, res) => void serveHttp(req, res));
  // Sockets that never upgrade hold descriptors too: past the cap (plus a few to answer 503), Node drops them.
  server.maxConnections = cap.max + 16;
  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let port = 0;
  const timers: NodeJS.Timeout[] = [];

  async function serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') return json(res, 200, { ok: true });
    if (path === '/metrics' && options.metrics) return serveMetrics(res, options.metrics);
    if (path === '/readyz') {
      const ready = state === 'running' && (await probeStore());
      return json(res, ready ? 200 : 503, { ready, connections: clients.size, sessions: registry.sessions });
    }
    if (admin?.matches(path)) return admin.serve(req, res);
    const asset = web.get(path);
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) return json(res, 404, { error: 'not found' });
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  async function probeStore(): Promise<boolean> {
    try {
      await Promise.race([host.store.sessionExists('bot_web_readyz-probe'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref())]);
      return true;
    } catch {
      return false;
    }
  }

  function refuse(socket: Duplex, status: number, message: string): void {
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!WS_PATHS.has(path)) return refuse(socket, 404, 'WebSockets are served on / and /ws');
    if (state !== 'running') return refuse(socket, 503, state === 'new' ? 'the gateway is starting; retry in a moment' : 'the gateway is shutting down');
    if (clients.size >= cap.max) return refuse(socket, 503, 'too many connections; try again later');
    let identity: string | null = null;
    const token = tokenFromRequest(req);
    if (token !== undefined) {
      const r = auth.verify(token);
      if (!r.ok) return refuse(socket, 401, r.reason);
      identity = r.identity;
    } else {
      identity = auth.trustedWithoutToken(req);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = new GatewayClient(ws, identity, ctx);
      clients.add(client);
      ws.on('close', () => clients.delete(client));
    });
  });

  function startTimers(): void {
    // One sweep for every connection (no per-connection timers): dead peers and idle sessions.
    const ping = setInterval(() => {
      for (const c of clients) {
        if (!c.alive) c.ws.terminate();
        else {
          c.alive = false;
          c.ws.ping();
        }
      }
    }, GATEWAY_TIMINGS.pingIntervalMs);
    const idleMs = config.session.timeout * 1000;
    const idle = setInterval(() => {
      const now = Date.now();
      for (const c of clients) if (now - c.lastActivity > idleMs) c.close(CLOSE.idle);
      ctx.messages.sweep(now);
      ctx.newSessions.sweep(now);
    }, Math.min(30_000, Math.max(100, idleMs / 4)));
    for (const t of [ping, idle]) {
      t.unref();
      timers.push(t);
    }
  }

  const gateway: Gateway = {
    get url() {
      const h = options.listenHost ?? config.host;
      return `http://${h.includes(':') ? `[${h}]` : h}:${port}/`;
    },
    get port() {
      return port;
    },
    registry,
    get connections() {
      return clients.size;
    },
    maxConnections: cap.max,
    notices,
    start() {
      starting ??= (async () => {
        if (web.size === 0) web = await loadWebAssets();
        const where = `${options.listenHost ?? config.host}:${options.port ?? config.port}`;
        await new Promise<void>((resolve, reject) => {
          const fail = (err: NodeJS.ErrnoException) => {
            const hint = err.code === 'EADDRINUSE' ? 'another process uses it; stop it or set gateway.port / --port' : 'check gateway.host / --host';
            reject(new BotHostError('GATEWAY_LISTEN', `the gateway cannot listen on ${where} (${err.code ?? err.message}): ${hint}`, { cause: err }));
          };
          server.once('error', fail);
          server.listen(options.port ?? config.port, options.listenHost ?? config.host, () => {
            server.off('error', fail);
            resolve();
          });
        });
        port = (server.address() as AddressInfo).port;
        for (const n of notices) logger.warn(n);
        // Only once the port is ours (a failed start leaves the host as it was). Upgrades are refused
        // until `running`, so recovery finishes before the first client joins.
        // Registered for the host's lifetime: turns still draining after stop() clear their pending marks.
        // Broadcast: every gateway process gets every web reply (each serves its own clients).
        host.delivery.register(GATEWAY_BOT_ID, registry.delivery, { broadcast: true });
        // With the file store, registering above already re-runs every turn a killed process had
        // acknowledged (the host's durable intake). The pending marks cover what the intake cannot:
        // a mark written just before a crash, for a message never acknowledged. Re-ingesting one the
        // intake holds is a no-op (it is queued once per message id), so the two stay coherent.
        if (host.config.queue.backend === 'inline') {
          await registry.recoverPending(async (key, info, p) => {
            const meta = info.metadata;
            await ingestWebMessage(host, { key, sessionId: String(meta[META.sessionId] ?? key), identity: p.identity, agent: String(meta[META.agent] ?? config.agent), clientId: p.id, content: p.content });
          });
        }
        await registry.purge();
        registry.start();
        startTimers();
        state = 'running';
      })();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        await starting?.catch(() => undefined);
        state = 'stopping';
        registry.stop();
        timers.splice(0).forEach(clearInterval);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of clients) c.close(CLOSE.goingAway);
        server.closeAllConnections?.();
        await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
        for (const c of clients) c.ws.terminate();
        wss.close();
        await admin?.close();
        state = 'stopped';
      })();
      return stopping;
    },
  };
  return gateway;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
