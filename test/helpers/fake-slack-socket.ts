/**
 * The Socket Mode half of the fake Slack: WebSockets upgraded on `/link/` of the fake's HTTP
 * server (the URL apps.connections.open hands out), speaking Slack's frames:
 *
 * - `hello` on connect; `{ envelope_id, type: 'events_api' | 'slash_commands', payload,
 *   accepts_response_payload, retry_attempt, retry_reason }` envelopes; the client's acks
 *   `{ envelope_id, payload }` are recorded; an envelope not acknowledged within `ackDeadlineMs`
 *   is sent again (retry_attempt + 1, to any open connection) up to 3 times, like Slack.
 * - Each event goes to one connection (round robin over the open ones).
 * - `disconnect(reason)` sends `{ type: 'disconnect', reason }` (refresh_requested, warning) and
 *   closes the socket a moment later if the client did not.
 * - Pings every `pingIntervalMs`; pongs answered — unless `silence()`d: then the connection
 *   neither pings nor answers pings nor sends anything (a socket that went silent).
 */
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SocketEnvelope {
  envelopeId: string;
  type: string;
  payload: Record<string, any>;
  /** Retry attempts sent (0 = the first). */
  attempts: number;
  ackedAt?: number;
  ackPayload?: Record<string, any>;
  sentAt: number;
}

export interface FakeSocketMode {
  /** The URL apps.connections.open returns. */
  connectUrl(): string;
  /** Sockets currently open. */
  readonly open: number;
  /** Sockets accepted since start. */
  readonly accepted: number;
  envelopes: Map<string, SocketEnvelope>;
  /** Sends an envelope to one open connection; resolves its id (rejects when none is open). */
  send(payload: Record<string, any>, type?: 'events_api' | 'slash_commands', options?: { retryAttempt?: number; redeliver?: boolean }): string;
  /** Resolves the ack payload, or undefined if not acknowledged within `timeoutMs`. */
  waitAck(envelopeId: string, timeoutMs?: number): Promise<Record<string, any> | undefined>;
  disconnect(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): void;
  /** Every currently open connection goes silent. */
  silence(): void;
  /** Resolves once `n` sockets have been accepted since start. */
  waitAccepted(n: number, timeoutMs?: number): Promise<void>;
  ackDeadlineMs: number;
  pingIntervalMs: number;
  close(): Promise<void>;
}

export function attachSocketMode(server: Server, baseUrl: () => string): FakeSocketMode {
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  const sockets: WebSocket[] = [];
  const silent = new WeakSet<WebSocket>();
  const envelopes = new Map<string, SocketEnvelope>();
  const ackWaiters = new Map<string, Array<(p: Record<string, any>) => void>>();
  let accepted = 0;
  let ticket = 0;
  let nextEnvelope = 0;
  let rr = 0;
  let acceptWaiters: Array<() => void> = [];

  const self: FakeSocketMode = {
    ackDeadlineMs: 3_000,
    pingIntervalMs: 2_000,
    connectUrl: () => `${baseUrl().replace(/^http/, 'ws')}/link/?ticket=${++ticket}`,
    get open() {
      return sockets.length;
    },
    get accepted() {
      return accepted;
    },
    envelopes,
    send(payload, type = 'events_api', options = {}) {
      const envelopeId = `env-${++nextEnvelope}`;
      const env: SocketEnvelope = { envelopeId, type, payload, attempts: options.retryAttempt ?? 0, sentAt: Date.now() };
      envelopes.set(envelopeId, env);
      transmit(env);
      if (options.redeliver !== false) scheduleRedelivery(env);
      return envelopeId;
    },
    waitAck(envelopeId, timeoutMs = 5_000) {
      const env = envelopes.get(envelopeId);
      if (env?.ackedAt !== undefined) return Promise.resolve(env.ackPayload ?? {});
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(undefined), timeoutMs);
        ackWaiters.set(envelopeId, [...(ackWaiters.get(envelopeId) ?? []), (p) => (clearTimeout(t), resolve(p))]);
      });
    },
    disconnect(reason = 'refresh_requested') {
      for (const ws of [...sockets]) {
        ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
        setTimeout(() => ws.readyState === ws.OPEN && ws.close(1000, 'disconnect'), 5_000).unref();
      }
    },
    silence() {
      for (const ws of sockets) silent.add(ws);
    },
    waitAccepted(n, timeoutMs = 20_000) {
      if (accepted >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${accepted} socket mode connections, wanted ${n}`)), timeoutMs);
        acceptWaiters.push(() => {
          if (accepted >= n) {
            clearTimeout(t);
            resolve();
          }
        });
      });
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };

  function transmit(env: SocketEnvelope) {
    const live = sockets.filter((ws) => !silent.has(ws) && ws.readyState === ws.OPEN);
    const target = live[rr++ % Math.max(live.length, 1)];
    if (!target) return;
    target.send(
      JSON.stringify({
        envelope_id: env.envelopeId,
        payload: env.payload,
        type: env.type,
        accepts_response_payload: env.type !== 'events_api',
        ...(env.type === 'events_api' ? { retry_attempt: env.attempts, retry_reason: env.attempts > 0 ? 'timeout' : '' } : {}),
      }),
    );
  }

  function scheduleRedelivery(env: SocketEnvelope) {
    if (env.type !== 'events_api') return;
    setTimeout(() => {
      if (env.ackedAt !== undefined || env.attempts >= 3) return;
      env.attempts++;
      transmit(env);
      scheduleRedelivery(env);
    }, self.ackDeadlineMs).unref();
  }

  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/link/')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      accepted++;
      for (const w of acceptWaiters) w();
      ws.on('ping', (data) => {
        if (!silent.has(ws)) ws.pong(data);
      });
      const pinger = setInterval(() => {
        if (!silent.has(ws) && ws.readyState === ws.OPEN) ws.ping(Buffer.from(`ping-${Date.now()}`));
      }, self.pingIntervalMs);
      ws.on('message', (data) => {
        if (silent.has(ws)) return;
        let m: { envelope_id?: string; payload?: Record<string, any> };
        try {
          m = JSON.parse(String(data)) as typeof m;
        } catch {
          return;
        }
        const env = m.envelope_id ? envelopes.get(m.envelope_id) : undefined;
        if (!env || env.ackedAt !== undefined) return;
        env.ackedAt = Date.now();
        env.ackPayload = m.payload ?? {};
        for (const w of ackWaiters.get(env.envelopeId) ?? []) w(env.ackPayload);
        ackWaiters.delete(env.envelopeId);
      });
      ws.on('close', () => {
        clearInterval(pinger);
        sockets.splice(sockets.indexOf(ws), 1);
      });
      ws.send(JSON.stringify({ type: 'hello', num_connections: sockets.length, debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18060 }, connection_info: { app_id: 'AFAKEAPP1' } }));
    });
  });

  return self;
}
