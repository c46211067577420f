/**
 * The signal the turns of one drain run under: aborted when the lease is lost, or when a turn
 * runs longer than `ms` (with a TimeoutError, which is retried).
 *
 * One timer per drain, not per turn, and no new AbortSignal per drain: Node promotes every
 * AbortSignal it makes to the old generation however short its life (~460 B each, measured),
 * and a signal per kick would be most of what a busy worker promotes; the mark-compacts that
 * follow stall every turn in flight.
 * A drain takes its controller from a `SignalPool` and hands it back when it closes, but only
 * clean: never aborted and with no listener left on it. For the same reason the lease is
 * followed through its `onLost`, not its signal (which then is never made). A controller is
 * replaced only after a timeout aborted it, for the retry; the timer is re-armed (`refresh`)
 * at each turn's start. Pipelined turns overlap only by the commit in flight (the model call
 * is over), so one deadline, the newest turn's, is enough.
 */
import { getEventListeners } from 'node:events';
import { TurnStopRequest } from '../core/turn-queue.js';

/**
 * Clean AbortControllers handed from one drain to the next (one pool per worker process).
 *
 * Invariants: a controller is taken back only if it was never aborted and no `abort` listener
 * is left on it, so no drain can see another's abort or call another's listener. A model that
 * ties itself to the signal some other way and never unties (AbortSignal.any keeps its
 * dependants on the source) could pile up on a reused signal, so each controller serves at
 * most `maxUses` drains: whatever piles up is bounded. The pool keeps at most `maxFree`.
 */
export class SignalPool {
  private readonly free: AbortController[] = [];
  private readonly uses = new WeakMap<AbortController, number>();

  constructor(
    private readonly maxUses = 1_000,
    private readonly maxFree = 64,
  ) {}

  take(): AbortController {
    const controller = this.free.pop() ?? new AbortController();
    this.uses.set(controller, (this.uses.get(controller) ?? 0) + 1);
    return controller;
  }

  /** Back for another drain if clean and not worn out; otherwise dropped. */
  give(controller: AbortController): void {
    const { signal } = controller;
    if (signal.aborted || getEventListeners(signal, 'abort').length > 0) return;
    if ((this.uses.get(controller) ?? 0) >= this.maxUses || this.free.length >= this.maxFree) return;
    this.free.push(controller);
  }

  /** Controllers waiting to be taken (for tests). */
  get size(): number {
    return this.free.length;
  }
}

/** What a drain's lease tells its limits: the lease's `onLost` (hold-lease.ts). */
export interface LossSource {
  onLost(listener: (reason: Error) => void): () => void;
}

export class TurnLimits {
  private controller: AbortController;
  private readonly timer: NodeJS.Timeout;
  /** Turns started and not ended. */
  private running = 0;
  /** The reason the lease was lost, if it was: later turns of the drain start aborted. */
  private leaseLost: Error | undefined;
  private readonly stopFollowingLease: () => void;

  /** `pool`: where the controller comes from and goes back to (default: one of its own). */
  constructor(
    lease: LossSource,
    private readonly ms: number,
    private readonly pool: SignalPool = new SignalPool(),
  ) {
    this.controller = pool.take();
    this.stopFollowingLease = lease.onLost((reason) => {
      this.leaseLost = reason;
      this.controller.abort(reason);
    });
    this.timer = setTimeout(() => {
      if (this.running > 0) this.controller.abort(new DOMException(`the turn took longer than ${this.ms} ms`, 'TimeoutError'));
    }, ms);
    this.timer.unref();
  }

  /** A turn starts (or is retried): its signal, and `dispose` for when it ended (safe to call twice). */
  start(): { signal: AbortSignal; dispose(): void } {
    // A timeout or a stop aborted the last one: the next turn gets a fresh signal. A lost lease stays lost.
    if (this.controller.signal.aborted && !this.leaseLost) this.controller = this.pool.take();
    this.running++;
    this.timer.refresh();
    let ended = false;
    return {
      signal: this.controller.signal,
      dispose: () => {
        if (ended) return;
        ended = true;
        this.running--;
      },
    };
  }

  /** The user stopped the running turn: abort it with a stop request (it commits what it has). */
  stop(): void {
    if (this.running > 0 && !this.controller.signal.aborted) this.controller.abort(new TurnStopRequest());
  }

  /** The drain is over: no timer or lease listener left behind; the controller goes back if clean. */
  close(): void {
    clearTimeout(this.timer);
    this.stopFollowingLease();
    this.pool.give(this.controller);
  }
}
