/**
 * What the session scripts' return codes mean: one table, so a reply is never interpreted by
 * an ad-hoc `if` elsewhere. Every script replies with a table whose first element is the code
 * (see the header of each file in ./lua).
 */
import { StoreError } from '../core/errors.js';

export const ScriptCode = {
  /** The script did what it was asked. */
  OK: 0,
  /** commitTurn: the inbound id was committed before; value = the first cursor it got. */
  DUPLICATE: -1,
  /** commitTurn: the commit's fence is below the highest issued; value = that fence. */
  STALE_FENCE: -2,
  /** clear/delete/getSession: the session does not exist. */
  MISSING: -3,
  /** Any script: the meta hash records another session id (encoded-name collision). */
  ID_COLLISION: -4,
  /** importSession: the session already exists; nothing changed. */
  EXISTS: -5,
  /** updateMetadata: an expected metadata value does not hold; nothing changed. */
  UNMET: -6,
} as const;

export type ScriptOutcome = 'ok' | 'duplicate' | 'stale_fence' | 'missing' | 'exists' | 'unmet';

const OUTCOMES: ReadonlyMap<number, ScriptOutcome | ((script: string, sessionId: string) => Error)> = new Map<
  number,
  ScriptOutcome | ((script: string, sessionId: string) => Error)
>([
  [ScriptCode.OK, 'ok'],
  [ScriptCode.DUPLICATE, 'duplicate'],
  [ScriptCode.STALE_FENCE, 'stale_fence'],
  [ScriptCode.MISSING, 'missing'],
  [ScriptCode.EXISTS, 'exists'],
  [ScriptCode.UNMET, 'unmet'],
  [
    ScriptCode.ID_COLLISION,
    (script, sessionId) =>
      new StoreError(
        `${script}: the Redis keys for session ${JSON.stringify(sessionId.slice(0, 80))} belong to another session id ` +
          '(two long ids share an encoded name); nothing was changed; report this as a bug',
      ),
  ],
]);

/** A reply's code and the rest of it; throws StoreError for error codes and malformed replies. */
export function interpretReply(script: string, sessionId: string, reply: unknown): { outcome: ScriptOutcome; rest: unknown[] } {
  const code = Array.isArray(reply) ? reply[0] : undefined;
  const entry = typeof code === 'number' ? OUTCOMES.get(code) : undefined;
  if (entry === undefined) {
    throw new StoreError(`${script}: unexpected reply from Redis (${JSON.stringify(reply)?.slice(0, 200)}); is another program writing these keys?`);
  }
  if (typeof entry === 'function') throw entry(script, sessionId);
  return { outcome: entry, rest: (reply as unknown[]).slice(1) };
}
