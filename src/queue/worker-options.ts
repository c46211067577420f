/**
 * The turn worker's options, defaults and events: shared by the worker (turn-worker.ts) and the
 * drain it runs (session-drain.ts), so neither imports the other for them.
 */
import type { Redis } from 'ioredis';
import type { TurnDeps } from '../agent/run-turn.js';
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import type { OutboxAppend } from './redis-delivery.js';
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
  /** Connection for job processing; each slot duplicates it for its own blocking connection. */
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
    /** A final reply's message around the cursor the pop script takes from the commit (see RedisDeliveryPublisher). */
    finalAwaitingCursor(result: Omit<TurnResult, 'cursor'>): { before: string; after: string };
    failed(request: TurnRequest, message: string, cause?: string): OutboxAppend;
  };
  /**
   * Log entries the claim and pop scripts read ahead for the next turn: at least every agent's
   * max history (capped by the store's max messages). 0 reads nothing ahead.
   */
  historyWindow?: number;
  /**
   * The pub/sub channel prefix on which the claim script announces each drain's first turn
   * (`<prefix>:delivery:`, where `delivery.started` publishes too): one write fewer per kick.
   * Unset: every start goes through `delivery.started`.
   */
  announceStartsOn?: string;
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

/** The turn an event is about, for metrics and logs: its agent, when it was accepted and started (epoch ms). */
export interface TurnTiming {
  agent?: string;
  receivedAt?: number;
  startedAt?: number;
}

export type WorkerEvent =
  | ({ type: 'turn'; sessionId: string; cursor: number; duplicate: boolean } & TurnTiming)
  | ({ type: 'turn_error'; sessionId: string; error: unknown; willRetry: boolean } & TurnTiming)
  | { type: 'lease_busy'; sessionId: string }
  /** `fenced`: the commit was refused for a stale fence (a newer holder exists), not just the lease expiring. */
  | ({ type: 'lease_lost'; sessionId: string; fenced?: boolean } & TurnTiming)
  | { type: 'swept'; sessionId: string }
  /** A user's Stop reached this worker while it ran the session's turn: the turn was aborted (it commits what it has). */
  | { type: 'turn_stopped'; sessionId: string };

