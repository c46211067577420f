/**
 * The distributed turn worker (`bot worker`). Each BullMQ kick job names a session; the worker
 * takes that session's lease (with a fencing token), runs the inbox's turns in order, and ends
 * the drain atomically with releasing the lease (finishDrain). Correctness does not rest on the
 * lease: every commit is fenced and idempotent on the inbound id.
 *
 * The drain itself (turns, pipelining, retries, the outbox append) is session-drain.ts; this
 * file is the job and lease plumbing around it: claim, hand back, re-kick, sweep, shut down.
 * A kill between commit and pop re-runs the turn, finds it committed (no model call) and
 * appends the stored reply then: each reply enters the outbox exactly once.
 */
import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { holdLease } from '../locks/hold-lease.js';
import { SessionLease } from '../locks/session-lease.js';
import { addKick, bullConnection, QUEUE_DEFAULTS, type KickJobData } from './bullmq-turn-queue.js';
import { inboxKeys } from './inbox-keys.js';
import { InboxScripts, type Claim } from './inbox-scripts.js';
import { KickSlots } from './kick-slots.js';
import { sweepOrphanedInboxes } from './orphan-sweep.js';
import { RETRY_DEFAULTS } from './retry.js';
import { SessionDrain } from './session-drain.js';
import { subscribeTurnStops } from './turn-stops.js';
import { WORKER_DEFAULTS, type TurnWorkerOptions, type WorkerEvent } from './worker-options.js';

export { WORKER_DEFAULTS, type TurnWorkerOptions, type WorkerEvent } from './worker-options.js';

export class TurnWorker {
  /** One BullMQ worker per concurrency slot, up to 16 (see kick-slots.ts). */
  readonly slots: KickSlots<KickJobData>;
  private readonly bull: Redis;
  /** For re-kicks (lost lease, sweep). */
  private readonly queue: Queue;
  private readonly lease: SessionLease;
  private readonly prefix: string;
  private readonly scripts: InboxScripts;
  private readonly drainer: SessionDrain;
  /**
   * True when the store keeps its sessions in Redis on this prefix (`redisCommit`): then the pop can ride in the commit's
   * round trip (it checks the commit in the store's own keys) and the claim's read-ahead of the
   * log is the session's history. Any other store (Postgres) commits first, then pops.
   */
  private readonly popRidesWithCommit: boolean;
  private readonly o: { leaseTtlMs: number; orphanAgeMs: number; sweepIntervalMs: number };
  private sweepTimer: NodeJS.Timeout | undefined;
  /** A connection of its own for the users' Stop requests (turn-stops.ts), and how to stop listening. */
  private readonly stopListener: Redis;
  private readonly listening: Promise<() => Promise<void>>;
  private closing: Promise<void> | undefined;
  /** Set by close(): drains hand their session back after the turn in flight. */
  private stopping = false;

  constructor(private readonly options: TurnWorkerOptions) {
    this.prefix = options.prefix ?? QUEUE_DEFAULTS.prefix;
    this.lease = new SessionLease({ client: options.client, prefix: this.prefix });
    const historyWindow = Math.max(0, Math.floor(options.historyWindow ?? 0));
    const { redisCommit } = options.deps.store;
    const sameRedis = redisCommit !== undefined && redisCommit.prefix === this.prefix ? redisCommit : undefined;
    this.scripts = new InboxScripts(options.client, this.prefix, historyWindow, options.announceStartsOn ?? '', sameRedis);
    this.popRidesWithCommit = sameRedis !== undefined;
    this.o = {
      leaseTtlMs: options.leaseTtlMs ?? WORKER_DEFAULTS.leaseTtlMs,
      orphanAgeMs: options.orphanAgeMs ?? WORKER_DEFAULTS.orphanAgeMs,
      sweepIntervalMs: options.sweepIntervalMs ?? WORKER_DEFAULTS.sweepIntervalMs,
    };
    const { client, deps, delivery, outbox, onEvent } = options;
    this.drainer = new SessionDrain({
      client,
      deps,
      delivery,
      outbox,
      onEvent,
      scripts: this.scripts,
      historyWindow,
      logCap: options.logCap ?? Number.MAX_SAFE_INTEGER,
      popRidesWithCommit: this.popRidesWithCommit,
      attempts: options.attempts ?? RETRY_DEFAULTS.attempts,
      retryBaseMs: options.retryBaseMs ?? RETRY_DEFAULTS.baseDelayMs,
      turnTimeoutMs: options.turnTimeoutMs ?? WORKER_DEFAULTS.turnTimeoutMs,
      partialEveryMs: WORKER_DEFAULTS.partialEveryMs,
      stopping: () => this.stopping,
    });
    this.bull = bullConnection(options.client);
    this.queue = new Queue(options.queueName ?? QUEUE_DEFAULTS.name, { connection: this.bull, prefix: `${this.prefix}:bull` });
    // Connection errors are reported once per interval on the main client (reportRedisOutages); unheard, BullMQ prints each with a stack.
    this.queue.on('error', () => undefined);
    this.slots = new KickSlots<KickJobData>(options.queueName ?? QUEUE_DEFAULTS.name, (job) => this.process(job), {
      connection: this.bull,
      prefix: `${this.prefix}:bull`,
      slots: options.concurrency ?? WORKER_DEFAULTS.concurrency,
      lockDuration: options.lockDurationMs ?? WORKER_DEFAULTS.lockDurationMs,
      stalledInterval: options.stalledIntervalMs ?? WORKER_DEFAULTS.stalledIntervalMs,
      // A kick may stall many times in a kill storm; giving up would strand the inbox.
      maxStalledCount: 1_000,
    });
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => undefined), this.o.sweepIntervalMs);
    this.sweepTimer.unref();
    this.stopListener = options.client.duplicate();
    this.stopListener.on('error', () => undefined);
    this.listening = subscribeTurnStops(this.stopListener, this.prefix, (stop) => {
      if (this.drainer.stop(stop.sessionId, stop.messageId)) this.options.onEvent?.({ type: 'turn_stopped', sessionId: stop.sessionId });
    });
    this.listening.catch(() => undefined);
  }

  /** Resolves when the worker is connected, taking jobs and listening for Stop requests. */
  async ready(): Promise<void> {
    await Promise.all([this.slots.ready(), this.listening]);
  }

  /** Stop taking jobs; wait for turns in flight to finish (SIGTERM drain). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      clearInterval(this.sweepTimer);
      await this.slots.close();
      await this.queue.close();
      this.bull.disconnect();
      await (await this.listening.catch(() => async () => undefined))();
      this.stopListener.disconnect();
    })();
    return this.closing;
  }

  private async process(job: Job<KickJobData>): Promise<void> {
    const { sessionId } = job.data;
    const keys = inboxKeys(this.prefix, sessionId);
    const claimed: { value: Claim | null } = { value: null };
    // Lease, inbox head and what the head's turn reads first, in one round trip.
    const acquire = async () => {
      const token = randomUUID();
      claimed.value = await this.scripts.claim(keys, token, this.o.leaseTtlMs);
      return claimed.value ? { token, fence: claimed.value.fence } : null;
    };
    const held = await holdLease(this.lease, sessionId, this.o.leaseTtlMs, { acquire });
    if (!held) {
      // Someone is draining this session; finishDrain makes them see our turn. Nothing to do.
      this.options.onEvent?.({ type: 'lease_busy', sessionId });
      return;
    }
    let released = false;
    try {
      const c = claimed.value;
      // A store that keeps its fence outside this Redis (Postgres) learns the new one first.
      await this.options.deps.store.recordFence?.(sessionId, held.fence);
      // A forked or reverted session's history is stitched by the hierarchy, not the own log the
      // claim and the pops read ahead: such a drain reads each turn's history afresh (no pipelining).
      const stitched = !this.popRidesWithCommit || (c?.stitched ?? true);
      released = await this.drainer.drain(sessionId, keys, held, { head: c?.head ?? null, prefetch: c?.prefetch, ahead: c?.ahead ?? null, stitched, announced: c?.announced ?? false });
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
   * Re-kick inboxes nobody drains: their kick job was lost (enqueue died between storing the
   * turn and adding the job) or failed for good. Sessions with an empty inbox leave the index.
   */
  sweep(): Promise<number> {
    return sweepOrphanedInboxes({
      client: this.options.client,
      queue: this.queue,
      prefix: this.prefix,
      orphanAgeMs: this.o.orphanAgeMs,
      onSwept: (sessionId) => this.options.onEvent?.({ type: 'swept', sessionId }),
    });
  }
}
