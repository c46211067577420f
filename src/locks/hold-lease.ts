/**
 * holdLease: take a SessionLease and keep it renewed while a turn runs.
 *
 * Invariants:
 * - Times are measured on the monotonic clock (performance.now), immune to wall-clock steps.
 * - Renewal runs every ttl/3 (so two renewals may fail before the lease can expire), from a
 *   timer chain that never overlaps itself, is unref'd (it never keeps a process alive) and
 *   stops on release.
 * - The lease is lost (`lost`, `onLost` listeners, and `signal` aborted with a
 *   LeaseLostError) as soon as it must be presumed lost: a renewal finds another token or
 *   no key, or no renewal has been confirmed within ttl of the last confirmed one (Redis
 *   unreachable, renewal stuck). It is measured from when the confirmed request was *sent*, so
 *   (timer delays aside) it fires no later than the key expires.
 * - Losing is advisory: a worker that misses it is still stopped by the fenced commit.
 * - `signal`'s AbortController is made only when something asks for it: Node promotes every
 *   AbortSignal it makes to the old generation however short its life, and the worker takes a
 *   lease per kick. Its drain uses `lost` and `onLost` instead.
 */
import { LeaseLostError } from '../core/errors.js';
import type { LeaseGrant, SessionLease } from './session-lease.js';

export interface HoldLeaseOptions {
  /** Keep trying to acquire for up to this many ms; default 0 (one try, null if taken). */
  waitMs?: number;
  /** Pause between tries while waiting, default 25 ms (jittered so contenders spread out). */
  retryMs?: number;
  /** Stop waiting early (resolves null). */
  signal?: AbortSignal;
  /**
   * Take the lease some other way (a caller's script that also reads what it needs in the
   * same round trip); it must follow SessionLease.acquire's contract. Default: `lease.acquire`.
   */
  acquire?: () => Promise<LeaseGrant | null>;
}

export interface HeldLease extends LeaseGrant {
  /** Aborted when the lease is lost; pass it to the model call and check it before sending. */
  readonly signal: AbortSignal;
  /** Whether the lease was lost (what `signal.aborted` would say, without making the signal). */
  readonly lost: boolean;
  /**
   * Calls `listener` with the reason when the lease is lost (at once if it already was), unless
   * released first. Returns a function that removes the listener.
   */
  onLost(listener: (reason: LeaseLostError) => void): () => void;
  /**
   * Whether the lease may still be held, decided now on the monotonic clock (aborting `signal`
   * if not). Check it right before a send: a process resumed after SIGSTOP runs I/O callbacks
   * (a buffered model stream) before its timers, so `signal` alone can be late by one callback.
   */
  isHeld(): boolean;
  /** Stop renewing and release (compare-and-delete). Safe to call twice. */
  release(): Promise<void>;
  /** Stop renewing without touching Redis: for callers whose own script already released it. */
  forget(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The lease operations holdLease uses: a SessionLease, or any lock with the same contract. */
export type RenewableLease = Pick<SessionLease, 'acquire' | 'renew' | 'release'>;

export async function holdLease(lease: RenewableLease, sessionId: string, ttlMs: number, options: HoldLeaseOptions = {}): Promise<HeldLease | null> {
  const deadline = performance.now() + (options.waitMs ?? 0);
  const retryMs = options.retryMs ?? 25;
  let grant: LeaseGrant | null = null;
  let confirmedAt = 0;
  for (;;) {
    confirmedAt = performance.now();
    grant = await (options.acquire ? options.acquire() : lease.acquire(sessionId, ttlMs));
    if (grant) break;
    const left = deadline - performance.now();
    if (left <= 0 || options.signal?.aborted) return null;
    await sleep(Math.min(left, retryMs * (0.5 + Math.random())));
  }
  return new LeaseHold(lease, sessionId, ttlMs, grant, confirmedAt);
}

/**
 * The held lease. A class, not an object literal: a literal with getters gets a hidden class of
 * its own, which V8 allocates in the old generation, and everything its getters' closures reach
 * (the claim's reply, the turn's history) then survives young-generation GCs with it: ~800 B
 * promoted per lease on its own, plus the kick's claim and history.
 */
class LeaseHold implements HeldLease {
  readonly token: string;
  readonly fence: number;
  private lostReason: LeaseLostError | undefined;
  private controller: AbortController | undefined;
  private listeners: ((reason: LeaseLostError) => void)[] = [];
  private released = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly lease: RenewableLease,
    private readonly sessionId: string,
    private readonly ttlMs: number,
    grant: LeaseGrant,
    /** When the last confirmed request (the acquire, then each renewal) was sent. */
    private confirmedAt: number,
  ) {
    this.token = grant.token;
    this.fence = grant.fence;
    this.armExpiry();
    this.scheduleRenewal();
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lostReason) this.controller.abort(this.lostReason);
    }
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  onLost(listener: (reason: LeaseLostError) => void): () => void {
    if (this.lostReason) {
      listener(this.lostReason);
      return () => undefined;
    }
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  isHeld(): boolean {
    if (!this.released && !this.lostReason && performance.now() >= this.confirmedAt + this.ttlMs) this.lose(`not renewed within ${this.ttlMs} ms`);
    return !this.released && !this.lostReason;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stop();
    await this.lease.release(this.sessionId, this.token);
  }

  forget(): void {
    this.released = true;
    this.stop();
  }

  private stop(): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }

  private lose(why: string): void {
    this.stop();
    if (this.released || this.lostReason) return;
    const reason = LeaseLostError.released(this.sessionId, this.fence, why);
    this.lostReason = reason;
    this.controller?.abort(reason);
    const toCall = this.listeners;
    this.listeners = [];
    for (const listener of toCall) listener(reason);
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.lose(`not renewed within ${this.ttlMs} ms`), this.confirmedAt + this.ttlMs - performance.now()).unref();
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(1, Math.floor(this.ttlMs / 3))).unref();
  }

  private async renew(): Promise<void> {
    const sentAt = performance.now();
    let held: boolean | undefined;
    try {
      held = await this.lease.renew(this.sessionId, this.token, this.ttlMs);
    } catch {
      // Unknown outcome: keep trying; the expiry timer decides when it is too late.
    }
    if (this.released || this.lostReason) return;
    if (held === false) return this.lose('another holder has it, or it expired');
    if (held === true) {
      this.confirmedAt = sentAt;
      this.armExpiry();
    }
    this.scheduleRenewal();
  }
}
