/**
 * The distributed turn worker (`bot worker`). Each BullMQ kick job names a session; the worker
 * takes that session's lease (with a fencing token), runs the inbox's turns in order, and ends
 * the drain atomically with releasing the lease (finishDrain). Correctness does not rest on the
 * lease: every commit is fenced and idempotent on the inbound id.
 *
 * Per turn: run (history → model → fenced commit) → pop from the inbox, which appends the reply
 * to the bot's outbox stream in the same script step (popTurn-10.lua). The pop goes out in the
 * commit's round trip and reads the next head's history, so a busy session costs one round
 * trip per turn. A kill between commit and pop re-runs the turn, finds it committed (no model
 * call) and appends the stored reply then: each reply enters the outbox exactly once.
 *
 * Failures: retryable ones (model 429/5xx, store hiccups) are retried in place with backoff,
 * keeping the session's order; after `attempts` (or at once for permanent ones) the pop appends
 * a polite reply to the outbox and a record to `<prefix>:dead` (exactly once), and the inbox
 * moves on.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { inboundText, runTurn, type TurnDeps } from '../agent/run-turn.js';
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { holdLease, type HeldLease } from '../locks/hold-lease.js';
import { SessionLease } from '../locks/session-lease.js';
import { addKick, bullConnection, QUEUE_DEFAULTS, type KickJobData } from './bullmq-turn-queue.js';
import { inboxKeys, type InboxKeys } from './inbox-keys.js';
import { RedisSessionStore } from '../sessions/redis-session-store.js';
import { InboxScripts, LOST, NOT_COMMITTED, type Claim, type Popped, type Prefetch } from './inbox-scripts.js';
import type { OutboxAppend } from './redis-delivery.js';
import { backoffDelayMs, classifyTurnError, politeFailure, RETRY_DEFAULTS } from './retry.js';
import { sweepOrphanedInboxes } from './orphan-sweep.js';
import { turnLimit } from './turn-limit.js';

/** Placeholder for the reply's cursor in a message built before the commit answers. */
const CURSOR_SLOT = -7_355_608_001;

/** runOne's answer when it did not wait for its pop: the next turn and its locally computed history. */
interface Speculated {
  pending: Promise<Popped | typeof LOST>;
  next: string;
  prefetch: Prefetch;
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
  /** Where streamed partial replies go (best effort). */
  delivery: Pick<Delivery, 'partial' | 'started'>;
  /**
   * The outbox entries of a final reply and of a failure notice: the script that removes the
   * turn from the inbox appends them (produced and recorded in one atomic step).
   */
  outbox: {
    /** The outbox stream of a bot. */
    key(botId: string): string;
    final(result: TurnResult): OutboxAppend;
    failed(request: TurnRequest, message: string): OutboxAppend;
  };
  /**
   * Log entries the claim and pop scripts read ahead for the next turn: at least every agent's
   * max history (capped by the store's max messages). 0 reads nothing ahead.
   */
  historyWindow?: number;
  /** The store's max messages (its log is trimmed to this); pipelining checks log lengths against it. */
  logCap?: number;
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
  private readonly historyWindow: number;
  /** The store's max messages: its log never grows longer. */
  private readonly logCap: number;
  private readonly scripts: InboxScripts;
  /**
   * True when the store is the Redis store on this prefix: then the pop can ride in the commit's
   * round trip (it checks the commit in the store's own keys) and the claim's read-ahead of the
   * log is the session's history. Any other store (Postgres) commits first, then pops.
   */
  private readonly popRidesWithCommit: boolean;
  private readonly o: { leaseTtlMs: number; orphanAgeMs: number; sweepIntervalMs: number; attempts: number; retryBaseMs: number };
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Set by close(): drains hand their session back after the turn in flight. */
  private stopping = false;

  constructor(private readonly options: TurnWorkerOptions) {
    this.prefix = options.prefix ?? QUEUE_DEFAULTS.prefix;
    this.lease = new SessionLease({ client: options.client, prefix: this.prefix });
    this.historyWindow = Math.max(0, Math.floor(options.historyWindow ?? 0));
    this.logCap = options.logCap ?? Number.MAX_SAFE_INTEGER;
    this.scripts = new InboxScripts(options.client, this.prefix, this.historyWindow);
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
      released = await this.drain(sessionId, keys, held, stitched, c?.head ?? null, c?.prefetch, c?.ahead ?? null);
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
   *
   * Pipelined: when the entry behind the head is known (read ahead by the claim or a pop), the
   * next turn runs while this turn's commit and pop are in flight (two turns at most). Order
   * and fencing hold: Redis runs the commits in order, and a pop that fails raises the fence so
   * the commit behind it is rejected (see popTurn-10.lua); nothing is delivered from a turn
   * whose predecessor's pop failed, and the drain stops there.
   */
  private async drain(sessionId: string, keys: InboxKeys, held: HeldLease, stitched: boolean, head: string | null, first?: Prefetch, firstAhead: string | null = null): Promise<boolean> {
    const { client } = this.options;
    let raw = head;
    let prefetch = stitched ? undefined : first;
    let ahead = firstAhead;
    let prior: Promise<Popped | typeof LOST> | undefined;
    try {
      for (;;) {
        if (held.signal.aborted) {
          this.options.onEvent?.({ type: 'lease_lost', sessionId });
          return false;
        }
        // Shutting down: the turn in flight is done; leave the rest to another worker, or a
        // session that never empties would keep this process alive forever.
        if (this.stopping && raw !== null) return false;
        if (raw === null) {
          if (await this.scripts.finish(keys, held.token)) return true;
          raw = await client.lindex(keys.inbox, 0);
          prefetch = undefined;
          ahead = null;
          continue;
        }
        const step = await this.runOne(sessionId, keys, raw, held, prefetch, prior, ahead);
        prior = undefined;
        if (step === LOST) return false;
        if ('pending' in step) {
          prior = step.pending;
          raw = step.next;
          prefetch = stitched ? undefined : step.prefetch;
          ahead = null; // learned from `prior` by the next runOne
          continue;
        }
        if (step.finished) return true;
        raw = step.next;
        prefetch = stitched ? undefined : step.prefetch;
        ahead = step.after ?? null;
      }
    } finally {
      // Never leave a pop unanswered behind a stopped drain (its outcome is decided in Redis).
      await prior?.catch(() => LOST);
    }
  }

  /**
   * Run the inbox head to completion (its reply or failure notice appended to the outbox).
   * Returns what the pop saw next, or LOST when the lease was lost; or, when the entry behind
   * this head is known, returns as soon as this turn's commit and pop are sent, with the next
   * turn's history computed locally (`Speculated`).
   *
   * `prior` is the previous turn's pop, still in flight: this turn's outcome counts only once
   * it succeeded. `ahead` is the entry behind this head, when known.
   */
  private async runOne(
    sessionId: string,
    keys: InboxKeys,
    raw: string,
    held: HeldLease,
    prefetch: Prefetch | undefined,
    prior: Promise<Popped | typeof LOST> | undefined,
    ahead: string | null,
  ): Promise<Popped | Speculated | typeof LOST> {
    const { client, deps, delivery, outbox } = this.options;
    const request = JSON.parse(raw) as TurnRequest;
    const inboundId = `${request.inbound.botId}:${request.inbound.messageId}`;
    const outboxKey = this.options.outbox.key(request.inbound.botId);
    /** Wait for the previous turn's pop; LOST if it failed. Learns what is behind this head. */
    const settlePrior = async (): Promise<boolean> => {
      if (!prior) return true;
      const p = await prior.catch((): typeof LOST => LOST);
      prior = undefined;
      if (p === LOST) return false;
      ahead = p.next === raw ? (p.after ?? null) : null;
      return true;
    };
    // Best effort, fire and forget (autopipelined): typing indicators and the gateway's
    // `executing` on whichever ingress process serves the chat.
    if (held.isHeld()) delivery.started?.(request);
    // Fast replies go out whole; only replies slower than the throttle stream partials.
    let lastPartial = Date.now();
    for (let attempt = 0; ; attempt++) {
      const limit = turnLimit(held.signal, this.options.turnTimeoutMs ?? WORKER_DEFAULTS.turnTimeoutMs);
      // The pop (which appends the reply to the outbox) rides in the commit's round trip.
      let popWithCommit: Promise<Popped | typeof LOST | typeof NOT_COMMITTED> | undefined;
      const withHistory = prefetch && attempt === 0 ? prefetch : undefined;
      // Pipelining needs this turn's history (to compute the next one's) and a next entry.
      const mayPipeline = withHistory?.logLength !== undefined && this.historyWindow > 0 && !this.stopping;
      let onIssued: (reply: string) => void = () => undefined;
      const issued = new Promise<string>((resolve) => (onIssued = resolve));
      const turn = runTurn(deps, request, {
        fence: held.fence,
        signal: limit.signal,
        // Read ahead for the first attempt only: a retry reads afresh.
        ...(withHistory ? { prefetched: withHistory } : {}),
        onCommitIssued: (reply: string) => {
          if (!this.popRidesWithCommit) return onIssued(reply); // popped after the commit resolves
          popWithCommit = this.popWithCommit(keys, outboxKey, inboundId, raw, held, request, reply, mayPipeline ? this.logLengthAfter(withHistory!) : undefined);
          onIssued(reply);
        },
        onPartial: (text) => {
          const now = Date.now();
          if (now - lastPartial < WORKER_DEFAULTS.partialEveryMs || held.signal.aborted || !held.isHeld()) return;
          lastPartial = now;
          delivery.partial?.(request, text);
        },
      });
      turn.catch(() => undefined); // handled below, whichever way it ends
      try {
        const first = await Promise.race([issued.then((reply) => ({ reply })), turn.then((result) => ({ result }))]);
        if ('reply' in first && mayPipeline) {
          // Commit and pop are in flight. The previous turn's pop must have succeeded first.
          if (!(await settlePrior())) {
            await turn.catch(() => undefined);
            limit.dispose();
            await popWithCommit!.catch(() => LOST);
            return LOST;
          }
          if (ahead !== null && !held.signal.aborted) {
            const pending = this.settleSpeculated(sessionId, turn, popWithCommit!, limit);
            return { pending, next: ahead, prefetch: this.historyAfter(withHistory!, request, first.reply) };
          }
        }
        const result = await turn;
        limit.dispose();
        if (!(await settlePrior())) {
          await popWithCommit?.catch(() => LOST);
          return LOST;
        }
        const early = popWithCommit ? await popWithCommit : NOT_COMMITTED;
        if (early === LOST) return LOST;
        let popped: Popped | typeof LOST;
        if (early !== NOT_COMMITTED) {
          popped = early; // committed, appended to the outbox and removed in the commit's round trip
          if (popped.stale && !popped.finished) {
            // The log changed behind this drain (a /new, say): stop; the next claim reads it afresh.
            this.options.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate });
            return LOST;
          }
          // A pipelining pop reads no history: the next turn's is this one's plus this turn.
          if (mayPipeline && !result.duplicate && popped.next !== null && !popped.prefetch) {
            popped = { ...popped, prefetch: this.historyAfter(withHistory!, request, result.reply) };
          }
        } else {
          if (held.signal.aborted) return LOST;
          // A stored reply (the turn was committed before, by this session's earlier holder).
          popped = await this.pop(keys, outboxKey, inboundId, raw, held, outbox.final(result).message);
        }
        if (popped !== LOST) this.options.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate });
        return popped;
      } catch (error) {
        limit.dispose();
        // A pop sent with a commit that then failed changed nothing (-2 or -1); never leave it unhandled.
        const early = popWithCommit ? await popWithCommit.catch((): typeof NOT_COMMITTED => NOT_COMMITTED) : NOT_COMMITTED;
        if (!(await settlePrior())) return LOST;
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
        // The polite notice and the dead letter are appended by the pop: exactly once, fenced by the lease.
        const dead = JSON.stringify({ at: Date.now(), sessionId, inboundId, tries, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        return this.pop(keys, outboxKey, inboundId, raw, held, outbox.failed(request, politeFailure(error)).message, dead);
      }
    }
  }

  /**
   * The next turn's history after committing this one: exactly what reading the log would give
   * (the window's newest entries), without reading it. Only for a fresh commit under the lease.
   */
  private historyAfter(before: Prefetch, request: TurnRequest, reply: string): Prefetch {
    const history = [...before.history, { role: 'user' as const, content: inboundText(request.inbound) }, { role: 'assistant' as const, content: reply }];
    return { committed: null, history: history.slice(-this.historyWindow), logLength: this.logLengthAfter(before) };
  }

  /** The log's length after one more turn (two entries), capped as the store trims it. */
  private logLengthAfter(before: Prefetch): number {
    return Math.min((before.logLength ?? 0) + 2, this.logCap);
  }

  /**
   * The outcome of a turn the drain did not wait for: its commit and pop both succeeded, or
   * LOST. Any failure stops the drain (the lease is released and the session re-kicked; the
   * next holder redoes whatever did not commit).
   */
  private async settleSpeculated(
    sessionId: string,
    turn: Promise<TurnResult>,
    pop: Promise<Popped | typeof LOST | typeof NOT_COMMITTED>,
    limit: { dispose(): void },
  ): Promise<Popped | typeof LOST> {
    try {
      const [result, popped] = await Promise.all([turn, pop]);
      if (popped === LOST || popped === NOT_COMMITTED) return LOST;
      this.options.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate });
      // The log changed behind this drain: the turn behind this one ran on a stale history and
      // its commit is rejected (the pop raised the fence); stop, the next claim reads afresh.
      if (popped.stale && !popped.finished) return LOST;
      return popped;
    } catch (error) {
      await pop.catch(() => LOST);
      const decision = classifyTurnError(error);
      if (decision === 'drop') this.options.onEvent?.({ type: 'lease_lost', sessionId });
      else this.options.onEvent?.({ type: 'turn_error', sessionId, error, willRetry: true });
      return LOST;
    } finally {
      limit.dispose();
    }
  }

  /**
   * The pop sent right behind the commit: it appends the reply with the commit's cursor
   * spliced in, only if the commit landed (see popTurn-10.lua). `guard`: a commit of the next
   * turn may follow it under the same fence.
   */
  private popWithCommit(
    keys: InboxKeys,
    outboxKey: string,
    inboundId: string,
    raw: string,
    held: HeldLease,
    request: TurnRequest,
    reply: string,
    expectLogLength: number | undefined,
  ): Promise<Popped | typeof LOST | typeof NOT_COMMITTED> {
    const guard = expectLogLength !== undefined;
    const draft: TurnResult = { request, reply, cursor: CURSOR_SLOT, duplicate: false, committedAt: performance.timeOrigin + performance.now() };
    const { message } = this.options.outbox.final(draft);
    const [before, after] = message.split(String(CURSOR_SLOT)) as [string, string];
    // With `guard` the caller knows this turn's history and computes the next one itself.
    return this.scripts.pop(keys, outboxKey, {
      inboundId, head: raw, token: held.token, message: before, messageAfter: after, guard, history: !guard,
      ...(guard ? { expectLogLength } : {}),
    });
  }

  /** Remove the finished head, appending `message` (and a dead letter) if given; the reply says what comes next. */
  private async pop(keys: InboxKeys, outboxKey: string, inboundId: string, raw: string, held: HeldLease, message: string, dead = ''): Promise<Popped | typeof LOST> {
    const popped = await this.scripts.pop(keys, outboxKey, { inboundId, head: raw, token: held.token, message, dead });
    // Without a cursor to splice, the script never checks for the commit.
    return popped === NOT_COMMITTED ? LOST : popped;
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
