/**
 * The gateway's sessions in this process: hubs of attached clients, the `Delivery` that turns
 * results into flushes, and the timers that keep sessions honest:
 * - poll: every second, flush sessions with a turn in flight (a missed result notice only delays);
 * - purge (`gateway.session.purge_interval`, hourly by default): delete sessions detached for
 *   longer than `resume_window` with nothing pending;
 * - heartbeat (shared store only): attached sessions refresh `gw.seen_at`, so another gateway's
 *   purge never deletes a session a client is using here.
 * `pending_inbox` and `is_executing` are session metadata (one key per pending message), written
 * before a message is acknowledged and cleared when its turn ends, so they survive disconnects
 * and restarts; `recoverPending()` re-enqueues what an inline-queue process died holding.
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import type { Metadata, SessionInfo, SessionLog } from '../core/session-store.js';
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { GATEWAY_TIMINGS, META } from './constants.js';
import { clientIdOf, commitIdOf } from './events.js';
import { isWebSessionKey } from '../sessions/web-sessions.js';
import { SessionHub, type HubClient } from './session-hub.js';

export interface PendingMessage {
  id: string;
  content: string;
  ts: number;
  identity: string;
}

export const pendingKey = (id: string) => `${META.pendingPrefix}${id}`;

export function pendingOf(metadata: Metadata): PendingMessage[] {
  const out: PendingMessage[] = [];
  for (const [k, v] of Object.entries(metadata)) {
    if (!k.startsWith(META.pendingPrefix) || typeof v !== 'object' || v === null) continue;
    const p = v as Partial<PendingMessage>;
    out.push({ id: k.slice(META.pendingPrefix.length), content: String(p.content ?? ''), ts: Number(p.ts ?? 0), identity: String(p.identity ?? '') });
  }
  return out.sort((a, b) => a.ts - b.ts);
}

export interface RegistryDeps {
  store: SessionLog;
  config: GatewayConfig;
  logger: Logger;
  /** True when other processes may serve the same sessions (shared store). */
  shared: boolean;
}

export class SessionRegistry {
  private readonly hubs = new Map<string, SessionHub>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: RegistryDeps) {}

  get sessions(): number {
    return this.hubs.size;
  }

  hub(key: string): SessionHub | undefined {
    return this.hubs.get(key);
  }

  attach(client: HubClient, key: string, sessionId: string, agent: string): SessionHub {
    let hub = this.hubs.get(key);
    if (!hub) this.hubs.set(key, (hub = new SessionHub(key, sessionId, agent, this.deps.store, this.deps.config.session.max_messages)));
    hub.clients.add(client);
    return hub;
  }

  /** The last client leaving starts the resume window. */
  detach(client: HubClient, hub: SessionHub): void {
    hub.clients.delete(client);
    if (hub.clients.size > 0 || this.hubs.get(hub.key) !== hub) return;
    this.hubs.delete(hub.key);
    this.write(hub.key, hub.sessionId, { [META.seenAt]: Date.now() });
  }

  /** Detached for longer than resume_window with nothing pending (and not attached here). */
  isExpired(info: SessionInfo, now = Date.now()): boolean {
    if (this.hubs.has(info.id)) return false;
    if (pendingOf(info.metadata).length > 0) return false;
    const seen = Math.max(Number(info.metadata[META.seenAt]) || 0, info.updatedAt);
    return now - seen > this.deps.config.session.resume_window * 1000;
  }

  /** Delete expired gateway sessions; returns how many. */
  async purge(now = Date.now()): Promise<number> {
    const sessions = await this.deps.store.listSessions({ limit: 1_000_000 });
    let purged = 0;
    for (const info of sessions) {
      if (!isWebSessionKey(info.id) || !this.isExpired(info, now)) continue;
      if (await this.deps.store.deleteSession(info.id)) purged++;
    }
    if (purged > 0) this.deps.logger.info({ purged }, 'gateway: purged sessions detached longer than resume_window');
    return purged;
  }

  /** Re-enqueue pending messages whose turn never committed (a process died holding them in memory). */
  async recoverPending(send: (key: string, info: SessionInfo, p: PendingMessage) => Promise<void>): Promise<number> {
    const sessions = await this.deps.store.listSessions({ limit: 1_000_000 });
    let resent = 0;
    for (const info of sessions) {
      if (!isWebSessionKey(info.id)) continue;
      const clear: Metadata = {};
      for (const p of pendingOf(info.metadata)) {
        if ((await this.deps.store.findCommitted(info.id, commitIdOf(info.id, p.id))) !== null) clear[pendingKey(p.id)] = null;
        else {
          await send(info.id, info, p);
          resent++;
        }
      }
      if (info.metadata[META.executing] !== undefined) clear[META.executing] = null;
      if (Object.keys(clear).length > 0) await this.deps.store.updateMetadata(info.id, clear);
    }
    if (resent > 0) this.deps.logger.info({ resent }, 'gateway: re-enqueued messages accepted before a restart');
    return resent;
  }

  /** The gateway bot's `Delivery`: results and failures become flushes and frames. */
  readonly delivery: Delivery = {
    started: (request) => {
      const id = clientIdOf(request.inbound.messageId);
      this.hubs.get(request.sessionId)?.broadcast({ type: 'typing', ...(id ? { reply_to: id } : {}) });
      if (id) this.write(request.sessionId, request.inbound.chatId, { [META.executing]: id });
    },
    partial: (request, text) => {
      const hub = this.hubs.get(request.sessionId);
      if (hub) hub.stream(clientIdOf(request.inbound.messageId), text);
    },
    final: async (result: TurnResult) => {
      const hub = this.hubs.get(result.request.sessionId);
      const id = clientIdOf(result.request.inbound.messageId);
      if (hub && id) hub.inFlight.delete(id);
      await hub?.flush().catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'gateway: flush failed'));
      await this.finishTurn(result.request);
    },
    failed: async (request: TurnRequest, message: string) => {
      const hub = this.hubs.get(request.sessionId);
      const id = clientIdOf(request.inbound.messageId);
      if (hub) {
        if (id) hub.inFlight.delete(id);
        for (const c of hub.clients) {
          if (!c.ready) continue;
          if (id) c.streamed.delete(id);
          c.send({ type: 'error', code: 'turn_failed', message, cursor: c.lastSent, ...(id ? { reply_to: id } : {}) });
        }
      }
      await this.finishTurn(request);
    },
  };

  private async finishTurn(request: TurnRequest): Promise<void> {
    const id = clientIdOf(request.inbound.messageId);
    if (!id) return;
    await this.deps.store
      .updateMetadataIf(request.sessionId, { [META.sessionId]: request.inbound.chatId }, { [pendingKey(id)]: null, [META.executing]: null })
      .catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'gateway: could not clear a pending message'));
  }

  start(): void {
    const s = this.deps.config.session;
    const every = (ms: number, fn: () => Promise<unknown> | void) => {
      const t = setInterval(() => void Promise.resolve(fn()).catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'gateway: periodic task failed')), ms);
      t.unref();
      this.timers.push(t);
    };
    every(GATEWAY_TIMINGS.pollIntervalMs, () => this.poll());
    every(s.purge_interval * 1000, () => this.purge());
    if (this.deps.shared) {
      every(Math.min(600_000, Math.max(1_000, (s.resume_window * 1000) / 3)), () => {
        const now = Date.now();
        for (const hub of this.hubs.values()) this.write(hub.key, hub.sessionId, { [META.seenAt]: now });
      });
    }
  }

  stop(): void {
    this.timers.splice(0).forEach(clearInterval);
  }

  /** Sessions with a turn in flight: read the log (flush) and whether it is still pending. */
  private async poll(): Promise<void> {
    for (const hub of [...this.hubs.values()]) {
      if (hub.inFlight.size === 0) continue;
      await hub.flush();
      const info = await this.deps.store.getSession(hub.key);
      const still = new Set(pendingOf(info?.metadata ?? {}).map((p) => p.id));
      for (const id of hub.inFlight) if (!still.has(id)) hub.inFlight.delete(id);
    }
  }

  /** Bookkeeping for a session that still exists (never recreates a deleted one without its owner). */
  private write(key: string, sessionId: string, patch: Metadata): void {
    void this.deps.store.updateMetadataIf(key, { [META.sessionId]: sessionId }, patch).catch((err) => this.deps.logger.warn({ err: (err as Error).message }, 'gateway: metadata write failed'));
  }
}
