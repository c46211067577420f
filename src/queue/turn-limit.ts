/**
 * The signal the turns of one drain run under: aborted when the lease is lost, or when a turn
 * runs longer than `ms` (with a TimeoutError, which is retried).
 *
 * One AbortController and one timer per drain, not per turn: Node keeps an AbortController and
 * what hangs off it alive across young-generation GCs, and a controller per turn was ~15 % of
 * what a busy worker promoted (BENCHMARKS.md, fourth pass). A controller is replaced only after
 * a timeout aborted it, for the retry; the timer is re-armed (`refresh`) at each turn's start.
 * Pipelined turns overlap only by the commit in flight (the model call is over), so one
 * deadline, the newest turn's, is enough.
 */
export class TurnLimits {
  private controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  /** Turns started and not ended. */
  private running = 0;
  private readonly onLost = () => this.controller.abort(this.lease.reason);

  constructor(
    private readonly lease: AbortSignal,
    private readonly ms: number,
  ) {
    if (lease.aborted) this.onLost();
    else lease.addEventListener('abort', this.onLost, { once: true });
    this.timer = setTimeout(() => {
      if (this.running > 0) this.controller.abort(new DOMException(`the turn took longer than ${this.ms} ms`, 'TimeoutError'));
    }, ms);
    this.timer.unref();
  }

  /** A turn starts (or is retried): its signal, and `dispose` for when it ended (safe to call twice). */
  start(): { signal: AbortSignal; dispose(): void } {
    // A timeout aborted the last one: the retry gets a fresh signal. A lost lease stays lost.
    if (this.controller.signal.aborted && !this.lease.aborted) this.controller = new AbortController();
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

  /** The drain is over: no timer left behind. */
  close(): void {
    clearTimeout(this.timer);
    this.lease.removeEventListener('abort', this.onLost);
  }
}
