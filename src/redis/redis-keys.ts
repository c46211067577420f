/**
 * Redis key layout of the session store and the session lease (they must share a prefix: the
 * lease issues fences into the same `meta` hash the commit script checks).
 *
 *   <prefix>:s:{<encoded id>}:meta   HASH  id, created, updated, last (cursor), fence, md:<key> = JSON
 *   <prefix>:s:{<encoded id>}:log    LIST  JSON entries {c, ts, r, m, md?}, consecutive cursors
 *   <prefix>:s:{<encoded id>}:ids    ZSET  inbound id → first cursor it got (newest 1000)
 *   <prefix>:s:{<encoded id>}:held   ZSET  entry JSON → cursor: trimmed entries kept for retention holds
 *   <prefix>:s:{<encoded id>}:lease  STRING lease token, PX ttl
 *   <prefix>:sessions                ZSET  raw session id → last activity (ms); cross-slot
 *
 * The `{…}` is a Redis Cluster hash tag: all keys of one session hash to one slot, so one Lua
 * script may touch them all. `encodeSessionId` maps any id to `[a-z0-9_%~-]`, so an id holding
 * `{`, `}`, `:`, `*` or `../` can neither end the tag early nor name a key of another session.
 * The `sessions` index is the only cross-slot key; scripts never touch it.
 */
import { ConfigError } from '../core/errors.js';
import { encodeSessionId } from '../core/session-id.js';

export interface SessionKeys {
  meta: string;
  log: string;
  ids: string;
  held: string;
  lease: string;
}

export const DEFAULT_PREFIX = 'bothost';

/** A prefix with a brace would move the hash tag off the session id; fail at construction. */
export function assertPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new ConfigError(`Redis key prefix ${JSON.stringify(prefix)} must be a non-empty string without "{" or "}"`, 'store.prefix');
  }
}

/**
 * `<prefix>:s:{<encoded id>}`: every key of one session starts with this, including the turn
 * queue's (src/queue/inbox-keys.ts). Throws INVALID_SESSION_ID before any key is built.
 */
export function sessionKeyBase(prefix: string, sessionId: string): string {
  return `${prefix}:s:{${encodeSessionId(sessionId)}}`;
}

export function sessionKeys(prefix: string, sessionId: string): SessionKeys {
  const base = sessionKeyBase(prefix, sessionId);
  return { meta: `${base}:meta`, log: `${base}:log`, ids: `${base}:ids`, held: `${base}:held`, lease: `${base}:lease` };
}

export function sessionIndexKey(prefix: string): string {
  return `${prefix}:sessions`;
}
