/**
 * holdLease: take a SessionLease and keep it renewed while a turn runs.
 *
 * Invariants:
 * - Times are measured on the monotonic clock (performance.now), immune to wall-clock steps.
 * - Renewal runs every ttl/3 (so two renewals may fail before the lease can expire), from a
 *   timer chain that never overlaps itself, is unref'd (it never keeps a process alive) and
 *   stops on release.
 * - The lease is lost (`lost`, `onLost` listeners, and `signal` aborted with a
 *   SessionLeaseLostError) as soon as it must be presumed lost: a renewal finds another token or
 *   no key, or no renewal has been confirmed within ttl of the last confirmed one (Redis
 *   unreachable, renewal stuck). It is measured from when the confirmed request was *sent*, so
 *   (timer delays aside) it fires no later than the key expires.
 * - Losing is advisory: a worker that misses it is still stopped by the fenced commit.
 * - `signal`'s AbortController is made only when something asks for it: Node keeps every
 *   AbortController alive through young-generation GCs (it is promoted to the old generation
 *   however short its life), and the worker takes a lease per kick. Its drain uses `lost` and
 *   `onLost` instead.
 */
import { BotHostError } from '../core/errors.js';
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
  onLost(listener: (reason: SessionLeaseLostError) => void): () => void;
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

/** The abort reason of a held lease's signal. */
export class SessionLeaseLostError extends BotHostError {
  constructor(sessionId: string, fence: number, why: string) {
    super('LEASE_LOST', `lease on session ${JSON.stringify(sessionId.slice(0, 80))} (fence ${fence}) was lost: ${why}; stop the turn and send nothing`);
  }
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
  const { token, fence } = grant;
  let lostReason: SessionLeaseLostError | undefined;
  let controller: AbortController | undefined;
  let listeners: ((reason: SessionLeaseLostError) => void)[] = [];
  let released = false;
  let renewTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;

  const stop = () => {
    clearTimeout(renewTimer);
    clearTimeout(expiryTimer);
  };
  const lose = (why: string) => {
    stop();
    if (released || lostReason) return;
    const reason = new SessionLeaseLostError(sessionId, fence, why);
    lostReason = reason;
    controller?.abort(reason);
    const toCall = listeners;
    listeners = [];
    for (const listener of toCall) listener(reason);
  };
  const armExpiry = () => {
    clearTimeout(expiryTimer);
    expiryTimer = setTimeout(() => lose(`not renewed within ${ttlMs} ms`), confirmedAt + ttlMs - performance.now()).unref();
  };
  const renew = async () => {
    const sentAt = performance.now();
    let held: boolean | undefined;
    try {
      held = await lease.renew(sessionId, token, ttlMs);
    } catch {
      // Unknown outcome: keep trying; the expiry timer decides when it is too late.
    }
    if (released || lostReason) return;
    if (held === false) return lose('another holder has it, or it expired');
    if (held === true) {
      confirmedAt = sentAt;
      armExpiry();
    }
    renewTimer = setTimeout(renew, Math.max(1, Math.floor(ttlMs / 3))).unref();
  };

  armExpiry();
  renewTimer = setTimeout(renew, Math.max(1, Math.floor(ttlMs / 3))).unref();
  return {
    token,
    fence,
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (lostReason) controller.abort(lostReason);
      }
      return controller.signal;
    },
    get lost() {
      return lostReason !== undefined;
    },
    onLost(listener) {
      if (lostReason) {
        listener(lostReason);
        return () => undefined;
      }
      listeners.push(listener);
      return () => {
        listeners = listeners.filter((l) => l !== listener);
      };
    },
    isHeld() {
      if (!released && !lostReason && performance.now() >= confirmedAt + ttlMs) lose(`not renewed within ${ttlMs} ms`);
      return !released && !lostReason;
    },
    async release() {
      if (released) return;
      released = true;
      stop();
      await lease.release(sessionId, token);
    },
    forget() {
      released = true;
      stop();
    },
  };
}
