/**
 * A worker process's kick fetchers: one BullMQ Worker of concurrency 1 per slot (up to 16
 * slots), instead of one Worker of concurrency N.
 *
 * Why: one loop of concurrency N has a single fetch in flight. Between turns it is often not
 * blocked on the queue but busy with a non-blocking fetch (the one that finds the queue empty),
 * so a kick that arrives then is taken by whichever running turn finishes first (BullMQ's
 * fetch-next on completion) and waits for that turn's commit and completion — at moderate load,
 * most of the slow turns. With a loop per slot, every idle slot is blocked on the queue's marker, so a new kick
 * wakes one at once; a busy slot still fetches its next kick with its completion.
 *
 * Each loop holds a blocking Redis connection (BullMQ duplicates the shared one), so past
 * `maxLoops` (16) the slots are spread over 16 loops instead: `--concurrency 200` opens 16
 * blocking connections, not 200. Workers that run that many turns at once wait on a model for
 * seconds per turn, where a fetch waiting behind a running turn costs nothing noticeable.
 *
 * Concurrency, job locks, lock renewal and stall recovery stay BullMQ's, per loop. The stalled-
 * job check is queue-wide, so only the first loop runs it.
 */
import type { EventEmitter } from 'node:events';
import { Worker, type Job, type WorkerOptions } from 'bullmq';

/** Listeners one BullMQ worker adds to the connection it is given (a margin over what 6.x adds). */
const LISTENERS_PER_LOOP = 4;

/** Fetch loops (and blocking connections) per process, at most. */
export const MAX_LOOPS = 16;

export interface KickSlotsOptions extends Omit<WorkerOptions, 'concurrency' | 'skipStalledCheck'> {
  /** Kicks run at once in this process. */
  slots: number;
  /** At most this many loops (BullMQ workers) share the slots; default MAX_LOOPS. */
  maxLoops?: number;
}

export class KickSlots<Data> {
  readonly workers: readonly Worker<Data>[];

  constructor(queueName: string, processor: (job: Job<Data>) => Promise<void>, options: KickSlotsOptions) {
    const { slots, maxLoops = MAX_LOOPS, ...workerOptions } = options;
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
    if (!Number.isSafeInteger(maxLoops) || maxLoops < 1) throw new RangeError(`maxLoops must be a positive integer, got ${maxLoops}`);
    const loops = Math.min(slots, maxLoops);
    // Every loop's worker listens on a shared connection (error, close, ready…): past ten loops
    // Node would warn of a listener leak that is none. (ioredis mixes EventEmitter in, so the
    // check is by shape, not instanceof.)
    const shared = workerOptions.connection as Partial<Pick<EventEmitter, 'getMaxListeners' | 'setMaxListeners'>>;
    if (typeof shared.setMaxListeners === 'function' && typeof shared.getMaxListeners === 'function') {
      shared.setMaxListeners(shared.getMaxListeners() + LISTENERS_PER_LOOP * loops);
    }
    this.workers = Array.from({ length: loops }, (_, i) => {
      // The slots split as evenly as they go: 40 over 16 loops is 8 loops of 3 and 8 of 2.
      const concurrency = Math.floor(slots / loops) + (i < slots % loops ? 1 : 0);
      const worker = new Worker<Data>(queueName, processor, { ...workerOptions, concurrency, skipStalledCheck: i > 0 });
      // Failures of a kick are the drain's to handle; connection errors are retried by BullMQ.
      worker.on('error', () => undefined);
      return worker;
    });
  }

  /** Resolves when every slot is connected and taking kicks. */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** Stop taking kicks; resolves when the kicks in flight have finished. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
