/** Token buckets: per identity for chat messages, per connection for raw frames. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Take one token; returns 0 when allowed, else milliseconds until one is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  /** Full again (nothing to remember). */
  idle(now = Date.now()): boolean {
    return this.tokens + ((now - this.last) / 1000) * this.perSecond >= this.burst;
  }
}

/** One bucket per key, created on demand, idle ones dropped by `sweep()`. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  take(key: string, now = Date.now()): number {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new TokenBucket(this.perSecond, this.burst, now)));
    return b.take(now);
  }

  sweep(now = Date.now()): void {
    for (const [k, b] of this.buckets) if (b.idle(now)) this.buckets.delete(k);
  }
}
