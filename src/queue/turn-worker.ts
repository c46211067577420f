/**
 * The distributed turn worker (`bot worker`). Each BullMQ kick job names a session; the worker
 * takes that session's lease (with a fencing token), runs the inbox's turns in order, and ends
 * the drain atomically with releasing the lease (finishDrain). Correctness does not rest on the
 * lease: every commit is fenced and idempotent on the inbound id.
 *
 * Per turn: run (history → model → fenced commit) → deliver → pop from the inbox. A kill
 * between commit and pop re-runs the turn, finds it committed (no model call) and re-delivers
 * the stored reply: the only duplicate send, explained by a kill between send and record (I6).
 *
 * Failures: retryable ones (model 429/5xx, store hiccups) are retried in place with backoff,
 * keeping the session's order; after `attempts` (or at once for permanent ones) the user gets a
 * polite reply, the turn is recorded in `<prefix>:dead`, and the inbox moves on.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { runTurn, type TurnDeps } from '../agent/run-turn.js';
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { holdLease, type HeldLease } from '../locks/hold-lease.js';
import { SessionLease } from '../locks/session-lease.js';
import { LuaScript } from '../sessions/redis-scripts.js';
import { RedisSessionStore } from '../sessions/redis-session-store.js';
import { addKick, bullConnection, QUEUE_DEFAULTS, type KickJobData } from './bullmq-turn-queue.js';
import { deadLetterKey, inboxIndexKey, inboxKeys, type InboxKeys } from './inbox-keys.js';
import { backoffDelayMs, classifyTurnError, politeFailure, RETRY_DEFAULTS } from './retry.js';

const popScript = new LuaScript(new URL('./lua/popTurn-6.lua', import.meta.url));
const finishScript = new LuaScript(new URL('./lua/finishDrain-3.lua', import.meta.url));
const claimScript = new LuaScript(new URL('./lua/claimSession-3.lua', import.meta.url));

/** runOne's answer when the lease was lost: stop draining, send nothing more. */
const LOST = Symbol('lease lost');
/** The pop sent with the commit found no commit (it failed): nothing was changed. */
const NOT_COMMITTED = Symbol('not committed');
/** Placeholder for the reply's cursor in a message built before the commit answers. */
const CURSOR_SLOT = -7_355_608_001;

/** What the pop script saw: the next head, or that the inbox emptied and the drain ended. */
interface Popped {
  next: string | null;
  finished: boolean;
}

export const WORKER_DEFAULTS = Object.freeze({
  concurrency: 8,
  /** Session lease TTL; renewed every third of it. Shorter than lockDuration (see below). */
  leaseTtlMs: 10_000,
  /**
   * BullMQ job lock. A killed worker's kick is re-run after lockDuration + stalledInterval; by
   * then its session lease (leaseTtlMs < lockDuration) has expired, so the re-run can take it.
   */
  lockDurationMs: 30_000,
  stalledIntervalMs: 15_000,
  /** Re-kick inboxes that have waited this long with nobody draining them. */
  orphanAgeMs: 60_000,
  sweepIntervalMs: 20_000,
  /** Throttle for streamed partial replies. */
  partialEveryMs: 250,
  /** A hung model stream must not hold a session (and SIGTERM) forever. */
  turnTimeoutMs: 120_000,
});

export interface TurnWorkerOptions {
  /** Connection for job processing; the worker duplicates it for its blocking connection. */
  client: Redis;
  deps: TurnDeps;
  delivery: Delivery;
  /**
   * When set, a final reply is published by the script that removes its turn from the inbox
   * (sent and recorded in one atomic step) instead of through `delivery.final`.
   */
  publishFinal?: (result: TurnResult) => { channel: string; message: string };
  /** Likewise for the polite reply of a turn that failed for good. */
  publishFailure?: (request: TurnRequest, message: string) => { channel: string; message: string };
  /** A turn whose model call takes longer is aborted and retried. Default 120 s. */
  turnTimeoutMs?: number;
  prefix?: string;
  queueName?: string;
  concurrency?: number;
  leaseTtlMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  orphanAgeMs?: number;
  sweepIntervalMs?: number;
  attempts?: number;
  retryBaseMs?: number;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'turn'; sessionId: string; cursor: number; duplicate: boolean }
  | { type: 'turn_error'; sessionId: string; error: unknown; willRetry: boolean }
  | { type: 'lease_busy'; sessionId: string }
  | { type: 'lease_lost'; sessionId: string }
  | { type: 'swept'; sessionId: string };

export class TurnWorker {
  readonly worker: Worker<KickJobData>;
  private readonly bull: Redis;
  /** For re-kicks (lost lease, sweep). */
  private readonly queue: Queue;
  private readonly lease: SessionLease;
  private readonly prefix: string;
  private readonly o: { leaseTtlMs: number; orphanAgeMs: number; sweepIntervalMs: number; attempts: number; retryBaseMs: number };
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Set by close(): drains hand their session back after the turn in flight. */
  private stopping = false;
  /**
   * The pop can only check a commit (popTurn-6.lua reads the store's `ids`) when the store
   * commits into this Redis under this prefix; other stores (Postgres) pop after the commit.
   */
  private readonly popRidesWithCommit: boolean;

  constructor(private readonly options: TurnWorkerOptions) {
    this.prefix = options.prefix ?? QUEUE_DEFAULTS.prefix;
    this.lease = new SessionLease({ client: options.client, prefix: this.prefix });
    const { store } = options.deps;
    this.popRidesWithCommit = store instanceof RedisSessionStore && store.prefix === this.prefix;
    this.o = {
      leaseTtlMs: options.leaseTtlMs ?? WORKER_DEFAULTS.leaseTtlMs,
      orphanAgeMs: options.orphanAgeMs ?? WORKER_DEFAULTS.orphanAgeMs,
      sweepIntervalMs: options.sweepIntervalMs ?? WORKER_DEFAULTS.sweepIntervalMs,
      attempts: options.attempts ?? RETRY_DEFAULTS.attempts,
      retryBaseMs: options.retryBaseMs ?? RETRY_DEFAULTS.baseDelayMs,
    };
    this.bull = bullConnection(options.client);
    this.queue = new Queue(options.queueName ?? QUEUE_DEFAULTS.name, { connection: this.bull, prefix: `${this.prefix}:bull` });
    this.worker = new Worker<KickJobData>(options.queueName ?? QUEUE_DEFAULTS.name, (job) => this.process(job), {
      connection: this.bull,
      prefix: `${this.prefix}:bull`,
      concurrency: options.concurrency ?? WORKER_DEFAULTS.concurrency,
      lockDuration: options.lockDurationMs ?? WORKER_DEFAULTS.lockDurationMs,
      stalledInterval: options.stalledIntervalMs ?? WORKER_DEFAULTS.stalledIntervalMs,
      // A kick may stall many times in a kill storm; giving up would strand the inbox.
      maxStalledCount: 1_000,
    });
    this.worker.on('error', () => undefined);
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => undefined), this.o.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Resolves when the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stop taking jobs; wait for turns in flight to finish (SIGTERM drain). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      clearInterval(this.sweepTimer);
      await this.worker.close();
      await this.queue.close();
      this.bull.disconnect();
    })();
    return this.closing;
  }

  private async process(job: Job<KickJobData>): Promise<void> {
    const { sessionId } = job.data;
    const keys = inboxKeys(this.prefix, sessionId);
    let head: string | null = null;
    // Lease and inbox head in one round trip.
    const acquire = async () => {
      const token = randomUUID();
      const reply = (await claimScript.run(this.options.client, [keys.lease, keys.meta, keys.inbox], [token, this.o.leaseTtlMs])) as [
        number,
        (string | null)?,
      ];
      const fence = Number(reply[0]);
      if (fence === 0) return null;
      head = reply[1] ?? null;
      return { token, fence };
    };
    const held = await holdLease(this.lease, sessionId, this.o.leaseTtlMs, { acquire });
    if (!held) {
      // Someone is draining this session; finishDrain makes them see our turn. Nothing to do.
      this.options.onEvent?.({ type: 'lease_busy', sessionId });
      return;
    }
    let released = false;
    try {
      // A store that keeps its fence outside this Redis (Postgres) learns the new one first.
      await this.options.deps.store.recordFence?.(sessionId, held.fence);
      released = await this.drain(sessionId, keys, held, head);
    } finally {
      if (released) held.forget();
      else await held.release().catch(() => undefined);
      // Also when the drain threw (Redis refusing writes, say): the job fails, but the inbox
      // must not wait for the orphan sweep.
      if (!released) await this.rekick(sessionId);
    }
  }

  /**
   * The drain stopped with work left: the lease was lost (it expired during a pause or a Redis
   * outage, or was taken over), the drain failed, or this worker is shutting down and handed
   * the session back. The `kicked` flag is still set, so no enqueue will add a job: kick again
   * (after the release, so another worker can take the lease). If a new holder is draining,
   * this kick finds the lease busy and ends; if nobody is, it resumes the inbox now rather than
   * after the orphan sweep.
   */
  private async rekick(sessionId: string): Promise<void> {
    await addKick(this.queue, sessionId).catch(() => undefined);
  }

  /**
   * Run the inbox to empty. True when the drain ended and released the lease; false when it
   * stopped with work left (lease lost, or handed back on shutdown).
   */
  private async drain(sessionId: string, keys: InboxKeys, held: HeldLease, head: string | null): Promise<boolean> {
    const { client } = this.options;
    let raw = head;
    for (;;) {
      if (held.signal.aborted) {
        this.options.onEvent?.({ type: 'lease_lost', sessionId });
        return false;
      }
      // Shutting down: the turn in flight is done; leave the rest to another worker, or a
      // session that never empties would keep this process alive forever.
      if (this.stopping && raw !== null) return false;
      if (raw === null) {
        if (Number(await finishScript.run(client, [keys.inbox, keys.kicked, keys.lease], [held.token])) === 1) return true;
        raw = await client.lindex(keys.inbox, 0);
        continue;
      }
      const popped = await this.runOne(sessionId, keys, raw, held);
      if (popped === LOST) return false;
      if (popped.finished) return true;
      raw = popped.next;
    }
  }

  /**
   * Run the inbox head to completion (delivered or dead-lettered). Returns what the pop saw
   * next, or LOST when the lease was lost.
   */
  private async runOne(sessionId: string, keys: InboxKeys, raw: string, held: HeldLease): Promise<Popped | typeof LOST> {
    const { client, deps, delivery } = this.options;
    const request = JSON.parse(raw) as TurnRequest;
    const inboundId = `${request.inbound.botId}:${request.inbound.messageId}`;
    // Fast replies go out whole; only replies slower than the throttle stream partials.
    let lastPartial = Date.now();
    for (let attempt = 0; ; attempt++) {
      const limit = turnLimit(held.signal, this.options.turnTimeoutMs ?? WORKER_DEFAULTS.turnTimeoutMs);
      // With pub/sub delivery the pop (which publishes the reply) rides in the commit's round trip.
      let popWithCommit: Promise<Popped | typeof LOST | typeof NOT_COMMITTED> | undefined;
      try {
        const result: TurnResult = await runTurn(deps, request, {
          fence: held.fence,
          signal: limit.signal,
          ...(this.options.publishFinal && this.popRidesWithCommit
            ? { onCommitIssued: (reply: string) => void (popWithCommit = this.popWithCommit(keys, inboundId, raw, held, request, reply)) }
            : {}),
          onPartial: (text) => {
            const now = Date.now();
            if (now - lastPartial < WORKER_DEFAULTS.partialEveryMs || !held.isHeld()) return;
            lastPartial = now;
            delivery.partial?.(request, text);
          },
        });
        limit.dispose();
        const early = popWithCommit ? await popWithCommit : NOT_COMMITTED;
        if (early === LOST) return LOST;
        let popped: Popped | typeof LOST;
        if (early !== NOT_COMMITTED) {
          popped = early; // committed, published and removed in the commit's round trip
        } else {
          if (held.signal.aborted) return LOST;
          // A stored reply (retried turn), or delivery without pub/sub: publish, then pop.
          const publish = this.options.publishFinal?.(result);
          if (!publish) await delivery.final(result);
          popped = await this.pop(keys, inboundId, raw, held, publish);
        }
        if (popped !== LOST) this.options.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate });
        return popped;
      } catch (error) {
        limit.dispose();
        // A pop sent with a commit that then failed changed nothing (-2 or -1); never leave it unhandled.
        const early = popWithCommit ? await popWithCommit.catch((): typeof NOT_COMMITTED => NOT_COMMITTED) : NOT_COMMITTED;
        if (early !== NOT_COMMITTED && early !== LOST) return early;
        const decision = held.signal.aborted ? 'drop' : classifyTurnError(error);
        if (decision === 'drop') {
          this.options.onEvent?.({ type: 'lease_lost', sessionId });
          return LOST;
        }
        const tries = await client.hincrby(keys.tries, inboundId, 1);
        const willRetry = decision === 'retry' && tries < this.o.attempts;
        this.options.onEvent?.({ type: 'turn_error', sessionId, error, willRetry });
        if (willRetry) {
          await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, this.o.retryBaseMs)));
          continue;
        }
        await client.lpush(
          deadLetterKey(this.prefix),
          JSON.stringify({ at: Date.now(), sessionId, inboundId, tries, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
        );
        // Like a final: published by the pop, fenced by the lease, atomic with the removal.
        const notice = this.options.publishFailure?.(request, politeFailure(error));
        if (!notice) await delivery.failed(request, politeFailure(error), error);
        return this.pop(keys, inboundId, raw, held, notice);
      }
    }
  }

  /**
   * The pop sent right behind the commit: it publishes the reply with the commit's cursor
   * spliced in, only if the commit landed (see popTurn-6.lua).
   */
  private popWithCommit(
    keys: InboxKeys,
    inboundId: string,
    raw: string,
    held: HeldLease,
    request: TurnRequest,
    reply: string,
  ): Promise<Popped | typeof LOST | typeof NOT_COMMITTED> {
    const draft: TurnResult = { request, reply, cursor: CURSOR_SLOT, duplicate: false, committedAt: performance.timeOrigin + performance.now() };
    const { channel, message } = this.options.publishFinal!(draft);
    const [before, after] = message.split(String(CURSOR_SLOT)) as [string, string];
    return this.runPop(keys, [inboundId, raw, held.token, channel, before, after]);
  }

  /** Remove the finished head (publishing its reply if asked); the reply says what comes next. */
  private async pop(
    keys: InboxKeys,
    inboundId: string,
    raw: string,
    held: HeldLease,
    publish?: { channel: string; message: string },
  ): Promise<Popped | typeof LOST> {
    const popped = await this.runPop(keys, [inboundId, raw, held.token, publish?.channel ?? '', publish?.message ?? '', '']);
    // Without a cursor to splice, the script never checks for the commit.
    return popped === NOT_COMMITTED ? LOST : popped;
  }

  /** popTurn-6.lua's replies, decoded. */
  private async runPop(keys: InboxKeys, args: string[]): Promise<Popped | typeof LOST | typeof NOT_COMMITTED> {
    const answer = (await popScript.run(
      this.options.client,
      [keys.inbox, keys.pending, keys.tries, keys.lease, keys.kicked, keys.ids],
      args,
    )) as [number, (string | null)?, number?];
    const code = Number(answer[0]);
    if (code === -2) return NOT_COMMITTED;
    if (code < 0) return LOST;
    return { next: answer[1] ?? null, finished: Number(answer[2]) === 1 };
  }

  /**
   * Re-kick inboxes nobody drains: their kick job was lost (enqueue died between storing the
   * turn and adding the job) or failed for good. Sessions with an empty inbox leave the index.
   */
  async sweep(): Promise<number> {
    const { client } = this.options;
    const { queue } = this;
    const index = inboxIndexKey(this.prefix);
    const stale = await client.zrangebyscore(index, 0, Date.now() - this.o.orphanAgeMs, 'LIMIT', 0, 200);
    let kicked = 0;
    for (const sessionId of stale) {
      const keys = inboxKeys(this.prefix, sessionId);
      const [len, leased] = await Promise.all([client.llen(keys.inbox), client.exists(keys.lease)]);
      if (len === 0) {
        await client.zrem(index, sessionId);
        // An enqueue between LLEN and ZREM found the entry present and added none: put it back.
        if ((await client.llen(keys.inbox)) > 0) await client.zadd(index, 'NX', Date.now(), sessionId);
        continue;
      }
      await client.zadd(index, 'XX', Date.now(), sessionId);
      if (leased) continue;
      await client.set(keys.kicked, Date.now());
      await addKick(queue, sessionId);
      kicked++;
      this.options.onEvent?.({ type: 'swept', sessionId });
    }
    return kicked;
  }
}

/**
 * The signal a turn runs under: aborted when the lease is lost or the turn takes longer than
 * `ms` (with a TimeoutError, which is retried). Cheaper per turn than AbortSignal.any + timeout.
 */
function turnLimit(lease: AbortSignal, ms: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onLost = () => controller.abort(lease.reason);
  if (lease.aborted) onLost();
  else lease.addEventListener('abort', onLost, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException(`the turn took longer than ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      lease.removeEventListener('abort', onLost);
    },
  };
}
