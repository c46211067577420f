/**
 * How every model reports a cancelled call. Both models throw the same thing so the turn
 * runner can tell "we stopped it" from "the endpoint failed" with one check.
 */

/**
 * The error to throw once `signal` has fired: its `reason` when that is already an error (as
 * `fetch` and `signal.throwIfAborted()` do, so `AbortSignal.timeout()` stays a `TimeoutError`),
 * otherwise a `DOMException` named `AbortError` carrying the reason.
 */
export function abortErrorFrom(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new DOMException('the model call was aborted', 'AbortError');
  if (reason !== undefined) Object.defineProperty(error, 'cause', { value: reason });
  return error;
}

