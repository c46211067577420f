/**
 * At most `perTick` callers go on per event-loop iteration; the rest wait, in order, for the
 * next iterations. When thousands of model answers arrive within a second (a worker holding
 * thousands of calls), finishing them all in one go — parsing, commit, outbox — would block
 * the loop for seconds on a loaded machine, and the timers that renew the sessions' leases
 * would not run in time: leases lost, turns run again. Spread over iterations, timers and
 * Redis replies get their turn between batches.
 */
export class TickBudget {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  constructor(private readonly perTick: number) {}

  /** Resolves at once while this iteration has budget left, else in a later iteration. */
  take(): Promise<void> {
    if (this.used < this.perTick && this.waiting.length === 0) {
      this.used++;
      this.schedule();
      return Promise.resolve();
    }
    this.schedule();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Callers waiting for a later iteration. */
  get queued(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after this iteration's I/O; timers due by then run before the next batch.
    setImmediate(this.refill);
  }

  private readonly refill = (): void => {
    this.scheduled = false;
    const batch = this.waiting.splice(0, this.perTick);
    this.used = batch.length;
    for (const resolve of batch) resolve();
    if (this.used > 0) this.schedule();
  };
}
