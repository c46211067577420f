/**
 * Leadership on Redis: "only one process does this at a time" (e.g. long-polls one Telegram
 * token, which Telegram allows to one caller only — a second gets 409 Conflict).
 *
 * It is a SessionLease under its own keys (the same acquire/renew/release scripts, so the same
 * invariants: SET NX PX, compare-and-act renew/release, a fence that only grows), held with
 * holdLease (renewed every ttl/3, its signal aborts when the lease must be presumed lost).
 * Keys: `<prefix>:leader:{<name>}:lease` and `…:meta` (fence). `name` is a bot id, never a token.
 * A holder that dies (SIGKILL) is replaced within the TTL plus one retry interval.
 */
import type { Redis } from 'ioredis';
import type { HeldLeadership, Leadership } from '../core/adapter.js';
import { encodeSessionId } from '../core/session-id.js';
import { luaScript } from '../redis/lua-script.js';
import { holdLease, type RenewableLease } from './hold-lease.js';

export const LEADERSHIP_DEFAULTS = Object.freeze({ ttlMs: 10_000 });

const SCRIPTS = {
  acquire: luaScript('acquireLease-2.lua', import.meta.url),
  renew: luaScript('renewLease-1.lua', import.meta.url),
  release: luaScript('releaseLease-1.lua', import.meta.url),
} as const;

function leaderKeys(prefix: string, name: string) {
  const base = `${prefix}:leader:{${encodeSessionId(name)}}`;
  return { lease: `${base}:lease`, meta: `${base}:meta` };
}

/** The lease operations over leadership keys (holdLease drives them). */
function leaderLock(client: Redis, prefix: string): RenewableLease {
  return {
    async acquire(name, ttlMs) {
      const k = leaderKeys(prefix, name);
      const token = crypto.randomUUID();
      const reply = await SCRIPTS.acquire.run(client, [k.lease, k.meta], [token, ttlMs]);
      return reply === 0 ? null : { token, fence: Number(reply) };
    },
    async renew(name, token, ttlMs) {
      return (await SCRIPTS.renew.run(client, [leaderKeys(prefix, name).lease], [token, ttlMs])) === 1;
    },
    async release(name, token) {
      return (await SCRIPTS.release.run(client, [leaderKeys(prefix, name).lease], [token])) === 1;
    },
  };
}

export interface RedisLeadershipOptions {
  client: Redis;
  prefix: string;
  ttlMs?: number;
  describe: string;
  /** Told about Redis errors while waiting (they are retried). */
  onError?: (err: unknown) => void;
}

export function createRedisLeadership(options: RedisLeadershipOptions): Leadership {
  const ttlMs = options.ttlMs ?? LEADERSHIP_DEFAULTS.ttlMs;
  const lock = leaderLock(options.client, options.prefix);
  return {
    describe: options.describe,
    async acquire(name: string, signal: AbortSignal): Promise<HeldLeadership | null> {
      for (;;) {
        if (signal.aborted) return null;
        try {
          // Waits in steps of about ttl/4, so a dead holder is replaced within ~1.25 × ttl.
          const held = await holdLease(lock, name, ttlMs, { waitMs: Number.POSITIVE_INFINITY, retryMs: Math.max(50, ttlMs / 4), signal });
          if (!held) return null;
          return { signal: held.signal, fence: held.fence, release: () => held.release().catch(() => undefined) };
        } catch (err) {
          // Redis unreachable: nobody can prove leadership; wait and try again.
          options.onError?.(err);
          await new Promise((r) => setTimeout(r, Math.max(100, ttlMs / 4)).unref());
        }
      }
    },
  };
}
