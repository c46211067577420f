/**
 * The signal the turns of one drain run under: aborted when the lease is lost, or when a turn
 * runs longer than `ms` (with a TimeoutError, which is retried).
 *
 * One AbortController and one timer per drain, not per turn: Node keeps every AbortController,
 * and what hangs off it, alive through young-generation GCs, and a controller per turn was ~15 %
 * of what a busy worker promoted (BENCHMARKS.md, fourth pass). For the same reason the lease is
 * followed through its `onLost`, not its signal (which then is never made). A controller is
 * replaced only after a timeout aborted it, for the retry; the timer is re-armed (`refresh`) at
 * each turn's start. Pipelined turns overlap only by the commit in flight (the model call is
 * over), so one deadline, the newest turn's, is enough.
 *
 * Not shared between drains (a pool of them was tried: BENCHMARKS.md, eighth pass). Each model
 * call ties itself to this signal; anything a model failed to untie would pile up on a signal
 * that outlived many drains.
 */

/** What a drain's lease tells its limits: the lease's `onLost` (hold-lease.ts). */
export interface LossSource {
  onLost(listener: (reason: Error) => void): () => void;
}

export class TurnLimits {
  private controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  /** Turns started and not ended. */
  private running = 0;
  /** The reason the lease was lost, if it was: later turns of the drain start aborted. */
  private leaseLost: Error | undefined;
  private readonly stopFollowingLease: () => void;

  constructor(lease: LossSource, private readonly ms: number) {
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
    // A timeout aborted the last one: the retry gets a fresh signal. A lost lease stays lost.
    if (this.controller.signal.aborted && !this.leaseLost) this.controller = new AbortController();
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

  /** The drain is over: no timer or lease listener left behind. */
  close(): void {
    clearTimeout(this.timer);
    this.stopFollowingLease();
  }
}
