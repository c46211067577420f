/** Which turn failures are worth retrying, and how long to wait: one table, one place. */
import { BotHostError, ModelError } from '../core/errors.js';

export const RETRY_DEFAULTS = Object.freeze({
  attempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
});

export type RetryDecision = 'retry' | 'fail' | 'drop';

/**
 * - model errors marked retryable (429, 5xx, network) → retry with backoff
 * - a lost lease → drop silently (the new lease holder runs the turn)
 * - store errors (disk full, backend down) → retry: the inbound is not acknowledged yet
 * - anything else (bad request, 401, bugs) → fail: tell the user politely, record it
 */
export function classifyTurnError(error: unknown): RetryDecision {
  if (error instanceof ModelError) return error.retryable ? 'retry' : 'fail';
  // The turn's own time limit (AbortSignal.timeout) fired: a hung stream, worth another try.
  if (error instanceof Error && error.name === 'TimeoutError') return 'retry';
  if (error instanceof BotHostError) {
    if (error.code === 'LEASE_LOST') return 'drop';
    if (error.code === 'STORE_FAILED' || error.code === 'LOCK_TIMEOUT') return 'retry';
  }
  return 'fail';
}

export function backoffDelayMs(attempt: number, base: number = RETRY_DEFAULTS.baseDelayMs, max: number = RETRY_DEFAULTS.maxDelayMs): number {
  const exp = Math.min(max, base * 2 ** attempt);
  return exp / 2 + Math.random() * (exp / 2);
}

/**
 * What the operator may be told instead: a model error's own message (it names the endpoint and
 * the fix and never carries a secret), found anywhere in the cause chain; undefined otherwise.
 * Only the terminal chat shows it — its user is the operator.
 */
export function operatorCause(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ModelError) return e.message;
  }
  return undefined;
}

/** What the user is told when their turn fails for good (never the raw error). */
export function politeFailure(error: unknown): string {
  if (error instanceof ModelError && error.retryable) {
    return 'Sorry — the model is not answering right now. Please try again in a minute.';
  }
  // A fork or reverted session whose earlier messages retention has dropped: only starting
  // over helps, and the user can do that.
  if (error instanceof BotHostError && error.code === 'HISTORY_UNAVAILABLE') {
    return 'Sorry — I can no longer read the earlier part of this conversation. Send /new to start a fresh one.';
  }
  return 'Sorry — something went wrong while answering. The operator has been notified.';
}
