/**
 * SessionLease: a per-session lock in Redis that comes with a fencing token.
 *
 * Invariants (T11 and I5 in docs/reliability.md):
 * - A lease is `SET <lease key> <token> NX PX ttl`: at most one token is stored at a time, and
 *   it disappears by itself after the TTL, so a crashed holder blocks the session for ≤ ttl.
 * - Only the holder's token renews or releases (compare-and-act scripts); a late release by a
 *   worker whose lease already expired cannot free someone else's lease.
 * - Each successful acquire increments the session's `fence` (in the same script, so no two
 *   acquires see one value): fences strictly increase per session and are above every fence
 *   any commit recorded. The store rejects a commit whose fence is below the recorded one.
 * - The TTL is wall-clock and a paused process cannot tell it expired: holding the lease only
 *   avoids wasted work. Correctness comes from the fenced commit, never from the lease alone.
 * - Fences survive clearSession and deleteSession (see deleteSession-4.lua), never go down.
 *
 * The lease must use the same key prefix as the RedisSessionStore whose commits it fences.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BotHostError } from '../core/errors.js';
import { DEFAULT_PREFIX, assertPrefix, sessionKeys } from '../redis/redis-keys.js';
import { luaScript } from '../redis/lua-script.js';

const SCRIPTS = {
  acquire: luaScript('acquireLease-2.lua', import.meta.url),
  renew: luaScript('renewLease-1.lua', import.meta.url),
  release: luaScript('releaseLease-1.lua', import.meta.url),
} as const;

/** Replies of the lease scripts (see their headers). */
const LEASE_REPLY = {
  /** acquire: 0 = held by someone else; any other value is the new fence. */
  TAKEN: 0,
  /** renew / release: 1 = done with the holder's token, 0 = not the holder (any more). */
  DONE: 1,
} as const;

export interface LeaseGrant {
  /** Random per acquire; proves holdership to renew and release. */
  token: string;
  /** Fencing token: pass it as `fence` to every commit made under this lease. */
  fence: number;
}

export interface SessionLeaseOptions {
  client: Redis;
  /** Default `bothost`; must equal the store's prefix. */
  prefix?: string;
}

export class SessionLease {
  readonly prefix: string;
  private readonly client: Redis;

  constructor(options: SessionLeaseOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    assertPrefix(this.prefix);
  }

  /** One try: the grant, or null when another holder has it. */
  async acquire(sessionId: string, ttlMs: number): Promise<LeaseGrant | null> {
    assertTtl(ttlMs);
    const k = sessionKeys(this.prefix, sessionId);
    const token = randomUUID();
    const reply = await SCRIPTS.acquire.run(this.client, [k.lease, k.meta], [token, ttlMs]);
    return reply === LEASE_REPLY.TAKEN ? null : { token, fence: Number(reply) };
  }

  /** True if `token` still held the lease and now holds it for `ttlMs` more. */
  async renew(sessionId: string, token: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const k = sessionKeys(this.prefix, sessionId);
    return (await SCRIPTS.renew.run(this.client, [k.lease], [token, ttlMs])) === LEASE_REPLY.DONE;
  }

  /** True if `token` held the lease and released it; false leaves any other holder alone. */
  async release(sessionId: string, token: string): Promise<boolean> {
    const k = sessionKeys(this.prefix, sessionId);
    return (await SCRIPTS.release.run(this.client, [k.lease], [token])) === LEASE_REPLY.DONE;
  }
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new BotHostError('INVALID_LEASE_TTL', `lease TTL must be a positive whole number of milliseconds; got ${String(ttlMs)}`);
  }
}
