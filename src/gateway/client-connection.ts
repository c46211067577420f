/**
 * One WebSocket client: its frames are handled one at a time, in order. `join` attaches it to a
 * session (ownership checked, then replay or resync from its `since`), `message` sends a turn
 * through the ingress pipeline, `ping` answers `pong`. Every error is a frame with a code and a
 * cursor (the highest this connection has been sent, so error cursors never go backwards and
 * never enter the log); only auth failures, floods and slow readers close the connection.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { GatewayConfig } from '../config/schema.js';
import type { SessionEntry, SessionInfo } from '../core/session-store.js';
import type { Host } from '../host/host.js';
import { parseCommand } from '../ingress/commands.js';
import type { Authenticator } from './auth.js';
import { CLOSE, GATEWAY_TIMINGS, META } from './constants.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import { commitIdOf, inboundMessageId, toEvents } from './events.js';
import { parseClientFrame, type ErrorCode, type JoinFrame, type MessageFrame, type ServerFrame, type SessionAdminFrame, type StopFrame } from './frames.js';
import { sessionAdmin, titleFrom } from './session-admin.js';
import { webSessionKey } from '../sessions/web-sessions.js';
import { ingestWebMessage } from './ingest.js';
import { TokenBucket, type RateLimiter } from './rate-limit.js';
import type { SessionHub } from './session-hub.js';
import { claimOrCheck, writeAsOwner } from './session-ownership.js';
import { pendingKey, pendingOf, type SessionRegistry } from './session-registry.js';

export interface GatewayContext {
  host: Pick<Host, 'ingest' | 'store' | 'agents' | 'stopTurn'>;
  config: GatewayConfig;
  registry: SessionRegistry;
  auth: Authenticator;
  /** Per identity chat-message limiter. */
  messages: RateLimiter;
  /** Per identity limiter of session creation (each new session is stored until purged). */
  newSessions: RateLimiter;
  /** Replay page reads in flight across every connection. */
  replayReads: ConcurrencyLimit;
  /**
   * Store work of joins and messages in flight across every connection: the descriptors the
   * store needs stay bounded however many clients send at once (see connection-cap.ts).
   */
  storeWork: ConcurrencyLimit;
  agentIds: readonly string[];
  logger: Logger;
}

type CloseSpec = { code: number; reason: string };

export class GatewayClient {
  lastSent = 0;
  ready = false;
  stream = false;
  readonly streamed = new Map<string, number>();
  lastActivity = Date.now();
  alive = true;
  private hub: SessionHub | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly frames = new TokenBucket(GATEWAY_TIMINGS.framesPerSecond, GATEWAY_TIMINGS.framesPerSecond * 2);
  private cutOff = false;
  private inBurst = false;
  private authTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    private identity: string | null,
    private readonly ctx: GatewayContext,
  ) {
    if (identity === null) {
      this.authTimer = setTimeout(() => this.close(CLOSE.unauthorized), GATEWAY_TIMINGS.authDeadlineMs);
      this.authTimer.unref();
    }
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => void (this.alive = true));
    ws.on('close', () => this.dispose());
    ws.on('error', () => undefined); // 'close' follows; a protocol error is not a server error
  }

  /**
   * Slow-consumer rule: when a burst of frames (one synchronous run, e.g. one flush) starts while
   * more than max_buffered_bytes from earlier bursts are still unsent, the client is cut off. So
   * memory per client is bounded by the limit plus one burst, and a fast reader receiving one big
   * burst is never mistaken for a slow one.
   */
  send(frame: ServerFrame): void {
    if (this.cutOff || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.inBurst) {
      if (this.ws.bufferedAmount > this.ctx.config.limits.max_buffered_bytes) return this.close(CLOSE.slowConsumer);
      this.inBurst = true;
      // The frames of one burst leave in one write (ws writes each frame on its own otherwise).
      const socket = this.socket();
      socket?.cork();
      queueMicrotask(() => {
        this.inBurst = false;
        socket?.uncork();
      });
    }
    this.ws.send(JSON.stringify(frame));
  }

  /** The TCP socket under ws (not public API; absent → frames are simply written one by one). */
  private socket(): { cork(): void; uncork(): void } | undefined {
    return (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  }

  /** Close with a reason; a peer that does not read it is dropped shortly after (bounded memory). */
  close(spec: CloseSpec): void {
    if (this.cutOff) return;
    this.cutOff = true;
    this.ws.close(spec.code, spec.reason);
    setTimeout(() => this.ws.terminate(), 1_000).unref();
  }

  private onFrame(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastActivity = Date.now();
    if (this.frames.take() > 0) return this.close(CLOSE.flooding);
    const raw = isBinary ? null : data.toString();
    this.chain = this.chain
      .then(() => (raw === null ? this.error('bad_frame', 'binary frames are not supported; send JSON text') : this.handle(raw)))
      .catch((err) => {
        this.ctx.logger.warn({ err: (err as Error).message }, 'gateway: frame handling failed');
        const retry = GATEWAY_TIMINGS.unavailableRetryMs;
        this.error('unavailable', `the gateway cannot reach its storage right now; try again in ${retry / 1000} s (a message resent with the same id never runs twice)`, { retry_after_ms: retry });
      });
  }

  private async handle(raw: string): Promise<void> {
    const parsed = parseClientFrame(raw);
    if (!parsed.ok) return this.error(parsed.code, parsed.message);
    const frame = parsed.frame;
    if (frame.type === 'ping') return this.send({ type: 'pong' });
    if (frame.type === 'join') return this.join(frame);
    if (frame.type === 'stop') return this.stop(frame);
    if (frame.type === 'message') return this.storeWork(() => this.message(frame));
    return this.storeWork(() => this.admin(frame));
  }

  /** Stop the joined session's reply being written: it commits what it has, marked stopped. */
  private async stop(f: StopFrame): Promise<void> {
    const hub = this.hub;
    const about = f.id !== undefined ? { reply_to: f.id } : {};
    if (!hub || !this.identity) return this.error('not_joined', 'send {"type": "join", …} before stop', about);
    const stopping = await this.ctx.host.stopTurn(hub.key, f.id !== undefined ? inboundMessageId(hub.key, f.id) : undefined);
    if (!stopping) return this.error('not_running', 'no reply is being written in this session now (it has ended, or is still queued)', about);
    this.send({ type: 'stopping', ...about });
  }

  /** list_sessions, rename_session, delete_session: the identity's own sessions only. */
  private async admin(f: SessionAdminFrame): Promise<void> {
    if (this.identity === null) return this.error('unauthorized', 'this gateway needs a token: join with "token" (or connect with ?token=) first');
    const answer = await sessionAdmin(
      {
        store: this.ctx.host.store,
        stopTurn: (key) => this.ctx.host.stopTurn(key),
      },
      this.identity,
      f,
    );
    if ('error' in answer) return this.error(answer.error, answer.message, 'session_id' in f ? { session_id: f.session_id } : {});
    this.send(answer);
  }

  /**
   * Store work, at most storeWorkInFlight at once gateway-wide, answered within storeWorkTimeoutMs:
   * while the store is unreachable (Redis down: commands wait for it) the client hears
   * `unavailable` instead of nothing, and the slot is freed for others.
   */
  private storeWork<T>(fn: () => Promise<T>): Promise<T> {
    return this.ctx.storeWork.run(() => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the store did not answer in time')), GATEWAY_TIMINGS.storeWorkTimeoutMs);
      });
      return Promise.race([fn(), deadline]).finally(() => clearTimeout(timer));
    });
  }

  private error(code: ErrorCode, message: string, extra: { retry_after_ms?: number; cursor?: number; reply_to?: string; session_id?: string } = {}): void {
    this.send({
      type: 'error',
      code,
      message,
      cursor: extra.cursor ?? this.lastSent,
      ...(extra.retry_after_ms !== undefined ? { retry_after_ms: extra.retry_after_ms } : {}),
      ...(extra.reply_to !== undefined ? { reply_to: extra.reply_to } : {}),
      ...(extra.session_id !== undefined ? { session_id: extra.session_id } : {}),
    });
  }

  private async join(f: JoinFrame): Promise<void> {
    const { store } = this.ctx.host;
    const { config } = this.ctx;
    if (this.hub) return this.error('already_joined', `already joined session "${this.hub.sessionId}"; open another connection for another session`);
    if (f.token !== undefined) {
      const r = this.ctx.auth.verify(f.token);
      if (!r.ok) {
        this.error('unauthorized', r.reason);
        return this.close(CLOSE.unauthorized);
      }
      this.identity = r.identity;
    }
    if (this.identity === null) {
      this.error('unauthorized', 'this gateway needs a token: send it in the join frame ("token"), as ?token= or as Authorization: Bearer');
      return this.close(CLOSE.unauthorized);
    }
    clearTimeout(this.authTimer);
    if (f.agent_id !== undefined && !this.ctx.agentIds.includes(f.agent_id)) {
      return this.error('unknown_agent', `unknown agent_id "${f.agent_id}"; choose one of: ${this.ctx.agentIds.join(', ')}`);
    }
    const sessionId = f.session_id ?? randomUUID();
    const key = webSessionKey(sessionId);

    let agent = f.agent_id ?? config.agent!;
    const identity = this.identity;
    const ownership = await this.storeWork(async () => {
      const found = await store.getSession(key);
      const info = found && this.ctx.registry.isExpired(found) ? (await store.deleteSession(key), null) : found;
      const free = info === null || (info.metadata[META.owner] === undefined && info.lastCursor === 0);
      if (free) {
        const wait = this.ctx.newSessions.take(identity);
        if (wait > 0) return { status: 'rate_limited' as const, wait };
      }
      return claimOrCheck(store, info, { key, sessionId, identity, agent });
    });
    if (ownership.status === 'rate_limited') {
      return this.error('rate_limited', `too many new sessions; try again in ${Math.ceil(ownership.wait / 1000)} s`, { retry_after_ms: ownership.wait });
    }
    if (ownership.status === 'forbidden') return this.forbidden(sessionId);
    const info = ownership.info;
    const existed = !ownership.claimed;
    if (existed) {
      agent = String(info.metadata[META.agent] ?? config.agent);
      if (f.agent_id !== undefined && f.agent_id !== agent) {
        return this.error('agent_mismatch', `session "${sessionId}" talks to agent "${agent}", not "${f.agent_id}"`);
      }
    }
    const lastCursor = info.lastCursor;
    if (existed && f.since !== undefined && f.since > lastCursor) {
      return this.error('future_since', `since ${f.since} is ahead of this session (its newest cursor is ${lastCursor}); join without since, or with since ≤ ${lastCursor}`, { cursor: lastCursor });
    }

    if (this.cutOff) return; // closed while the store answered
    this.stream = f.stream ?? false;
    const hub = this.ctx.registry.attach(this, key, sessionId, agent);
    this.hub = hub;
    const pending = pendingOf(info.metadata);
    this.send({
      type: 'joined',
      session_id: sessionId,
      agent_id: agent,
      agent_name: this.ctx.host.agents(agent).name,
      resumed: existed,
      cursor: lastCursor,
      identity: this.identity,
      pending: pending.map((p) => ({ id: p.id, content: p.content })),
      // Only a message still pending can be executing: a late `started` notice (best effort, over
      // pub/sub in distributed mode) may land after its turn finished and must not show forever.
      executing: pending.some((p) => p.id === info.metadata[META.executing]),
    });
    if (!existed) {
      this.lastSent = 0;
      if (f.since !== undefined && f.since > 0) this.send({ type: 'resync', reason: 'not_found', cursor: 0, snapshot: [] });
    } else if (f.since === undefined) {
      this.lastSent = lastCursor;
    } else {
      await this.replay(hub, f.since, lastCursor);
    }
    this.ready = true;
    for (const p of pending) hub.inFlight.add(p.id);
    await hub.flush();
  }

  /**
   * The joined session is gone (deleted, purged, lost with the store) or now belongs to another
   * identity: the message is refused, the client is detached and told to start again.
   */
  private lost(hub: SessionHub, info: SessionInfo | null, replyTo: string): void {
    this.ctx.registry.detach(this, hub);
    this.hub = undefined;
    this.ready = false;
    this.streamed.clear();
    this.lastSent = 0;
    const owner = info?.metadata[META.owner];
    if (owner !== undefined || (info?.lastCursor ?? 0) > 0) return this.forbidden(hub.sessionId, replyTo);
    this.error('not_found', `session "${hub.sessionId}" no longer exists (deleted or expired); join again to start it anew, then resend`, { reply_to: replyTo });
    this.send({ type: 'resync', reason: 'not_found', cursor: 0, snapshot: [] });
  }

  private forbidden(sessionId: string, replyTo?: string): void {
    this.error('forbidden', `session "${sessionId}" belongs to another identity; pick another session_id`, replyTo !== undefined ? { reply_to: replyTo } : {});
  }

  /**
   * Events after `since`, read a page at a time; or a resync when they are gone. The buffer limit
   * is checked before every frame: past max_buffered_bytes the replay waits for the socket to
   * drain (or cuts the client off), so a client that stops reading holds at most the limit, one
   * frame and one page.
   */
  private async replay(hub: SessionHub, since: number, lastCursor: number): Promise<void> {
    const { store } = this.ctx.host;
    // Page reads are limited gateway-wide: a store may scan far more than a page to serve one.
    const read = (after: number, limit: number) => this.ctx.replayReads.run(() => store.getEntries(hub.key, { after, limit }));
    let page: number = GATEWAY_TIMINGS.replayPage;
    let entries = await read(since, page);
    const gap = entries.length > 0 ? entries[0]!.cursor > since + 1 : lastCursor > since;
    if (gap || lastCursor - since > this.ctx.config.session.max_messages) {
      this.lastSent = since;
      return hub.resync(this, 'retention');
    }
    const socket = this.socket();
    let previous: SessionEntry | undefined;
    let sent = since;
    while (entries.length > 0) {
      // The entry before a page tells whether its first assistant entry replies to a user message.
      const events = previous ? toEvents([previous, ...entries]).slice(1) : toEvents(entries);
      let corked = false;
      let waited = false;
      try {
        for (const event of events) {
          if (this.ws.bufferedAmount > this.ctx.config.limits.max_buffered_bytes) {
            if (corked) socket?.uncork();
            corked = false;
            waited = true;
            if (!(await this.drained())) return;
          }
          if (this.cutOff || this.ws.readyState !== WebSocket.OPEN) return;
          // ws writes each frame with its own syscall; corking makes each run of frames one writev.
          if (!corked) socket?.cork();
          corked = true;
          this.ws.send(JSON.stringify({ type: 'replay', event, cursor: event.cursor }));
          sent = event.cursor;
        }
      } finally {
        if (corked) socket?.uncork();
      }
      if (entries.length < page) break;
      previous = entries.at(-1)!;
      // A client that kept up gets bigger pages (fewer reads); one that made us wait stays on small ones.
      page = waited ? GATEWAY_TIMINGS.replayPage : Math.min(page * 4, this.ctx.config.session.max_messages);
      entries = await read(previous.cursor, page);
    }
    this.lastSent = sent;
  }

  /** Wait until the unsent data is below half the limit; false (and cut off) when it stays above. */
  private async drained(): Promise<boolean> {
    const deadline = Date.now() + GATEWAY_TIMINGS.replayDrainTimeoutMs;
    let pause = 5; // a fast reader drains within milliseconds; a stalled one is polled ever less often
    while (this.ws.bufferedAmount > this.ctx.config.limits.max_buffered_bytes / 2) {
      if (this.cutOff || this.ws.readyState !== WebSocket.OPEN) return false;
      if (Date.now() > deadline) {
        this.close(CLOSE.slowConsumer);
        return false;
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(100, pause * 2);
    }
    return true;
  }

  private async message(f: MessageFrame): Promise<void> {
    const hub = this.hub;
    // Errors about a message name it (reply_to), so a client knows which one to resend or drop.
    const id = f.id ?? randomUUID();
    const fail = (code: ErrorCode, message: string, extra: { retry_after_ms?: number } = {}) => this.error(code, message, { ...extra, reply_to: id });
    if (!hub || !this.identity) return fail('not_joined', 'send {"type": "join", …} before messages');
    const { store } = this.ctx.host;
    const { limits } = this.ctx.config;
    if (f.content.trim() === '') return fail('empty_message', 'message content is empty');
    if (f.content.length > limits.max_message_chars) return fail('too_long', `message is ${f.content.length} characters; the limit is ${limits.max_message_chars}`);
    const wait = this.ctx.messages.take(this.identity);
    if (wait > 0) return fail('rate_limited', `too many messages; try again in ${Math.ceil(wait / 1000)} s`, { retry_after_ms: wait });
    if (f.stream !== undefined) this.stream = f.stream;

    const info: SessionInfo | null = await store.getSession(hub.key);
    if (info?.metadata[META.owner] !== this.identity) return this.lost(hub, info, id);
    const pending = pendingOf(info.metadata);
    if (pending.some((p) => p.id === id)) return this.send({ type: 'accepted', id, duplicate: true });
    if ((await store.findCommitted(hub.key, commitIdOf(hub.key, id))) !== null) {
      this.send({ type: 'accepted', id, duplicate: true });
      return hub.flush();
    }
    if (pending.length >= limits.max_pending) return fail('busy', `${pending.length} messages are still waiting for replies in this session; wait for them`);

    // Durable before acknowledged: a restart finds it in pending_inbox and runs it. Written only
    // while the session is still this identity's (it may have been deleted since the read above).
    const pendingMark = {
      [pendingKey(id)]: { content: f.content, ts: Date.now(), identity: this.identity },
      // The first message (not a command) names the session in `list_sessions` until it is renamed.
      ...(info.metadata[META.title] === undefined && parseCommand(f.content) === null ? { [META.title]: titleFrom(f.content, GATEWAY_TIMINGS.maxTitleChars) } : {}),
    };
    if (!(await writeAsOwner(store, hub.key, this.identity, pendingMark))) return this.lost(hub, await store.getSession(hub.key), id);
    hub.inFlight.add(id);
    let result: Awaited<ReturnType<typeof ingestWebMessage>>;
    try {
      result = await ingestWebMessage(this.ctx.host, { key: hub.key, sessionId: hub.sessionId, identity: this.identity, agent: hub.agent, clientId: id, content: f.content });
    } catch (err) {
      hub.inFlight.delete(id);
      await writeAsOwner(store, hub.key, this.identity, { [pendingKey(id)]: null }).catch(() => undefined);
      this.ctx.logger.warn({ err: (err as Error).message }, 'gateway: could not enqueue a message');
      return fail('unavailable', 'the message could not be queued; resend it with the same id');
    }
    if (result.outcome === 'enqueued' || result.outcome === 'duplicate') {
      return this.send({ type: 'accepted', id, ...(result.outcome === 'duplicate' ? { duplicate: true } : {}) });
    }
    hub.inFlight.delete(id);
    await writeAsOwner(store, hub.key, this.identity, { [pendingKey(id)]: null });
    this.send({ type: 'accepted', id });
    for (const content of result.replies) this.send({ type: 'notice', content, cursor: this.lastSent });
    if (result.outcome === 'command' && parseCommand(f.content)?.name === 'new') {
      for (const c of hub.clients) if (c instanceof GatewayClient && c.ready) await hub.resync(c, 'cleared');
    }
  }

  private dispose(): void {
    clearTimeout(this.authTimer);
    this.cutOff = true;
    if (this.hub) this.ctx.registry.detach(this, this.hub);
    this.hub = undefined;
  }
}
