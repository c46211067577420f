/**
 * WhatsApp failures → what to do, in one table each: why the socket closed (baileys'
 * `DisconnectReason`, the Boom status code of `lastDisconnect.error`) and why a send failed.
 * Numbers, not baileys' enum, so the definition and tests need no SDK.
 */

export type DisconnectDecision =
  /** 515 "restart required" (after pairing, and now and then): flush creds, reconnect at once. */
  | 'restart'
  /** 428 closed, 408 lost / timed out, 503 unavailable, 500 bad session, anything unknown: back off and reconnect. */
  | 'backoff'
  /** 440 "connection replaced": another process or device opened this account's socket — stop. */
  | 'replaced'
  /** 401 "logged out" (unlinked on the phone): wipe the auth state, stop, ask for `login`. */
  | 'logged_out'
  /** 403 forbidden (account banned), 411 multi-device mismatch: stop and tell the operator. */
  | 'fatal';

const DISCONNECT: ReadonlyMap<number, DisconnectDecision> = new Map([
  [515, 'restart'],
  [428, 'backoff'],
  [408, 'backoff'],
  [503, 'backoff'],
  [500, 'backoff'],
  [440, 'replaced'],
  [401, 'logged_out'],
  [403, 'fatal'],
  [411, 'fatal'],
]);

export function decideDisconnect(statusCode: number | undefined): DisconnectDecision {
  return (statusCode !== undefined && DISCONNECT.get(statusCode)) || 'backoff';
}

/** The Boom status code baileys puts on `lastDisconnect.error` (`output.statusCode`). */
export function statusCodeOf(err: unknown): number | undefined {
  const e = err as { output?: { statusCode?: unknown }; statusCode?: unknown } | undefined;
  const code = e?.output?.statusCode ?? e?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export type SendDecision =
  /** The socket is down or WhatsApp is busy: throw, so the reply is retried (from the outbox). */
  | 'retry'
  /** The chat refuses the message for good (not on WhatsApp, not in the group, forbidden): log, drop. */
  | 'drop';

const SEND: ReadonlyMap<number, SendDecision> = new Map([
  [400, 'drop'],
  [403, 'drop'],
  [404, 'drop'],
  [406, 'drop'],
  [479, 'drop'],
]);

/** Network errors and 5xx/408/428/429 retry; definite refusals drop. */
export function decideSendError(err: unknown): SendDecision {
  const code = statusCodeOf(err);
  return (code !== undefined && SEND.get(code)) || 'retry';
}
