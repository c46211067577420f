/** Redis leadership (src/locks/leadership.ts): one holder at a time, takeover when the holder goes silent, release hands over at once. */
import { describe, expect, it } from 'vitest';
import { createRedisLeadership } from '../../src/locks/leadership.js';
import { connectRedis, keysByPrefix, redisForFile, sleep } from './redis-test-env.js';

const redis = redisForFile();
const { prefix } = redis;

const TTL = 600;

describe('createRedisLeadership', () => {
  it('one holder among contenders; release hands over promptly; fences increase', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => connectRedis()));
    try {
      const leaders = clients.map((client) => createRedisLeadership({ client, prefix, ttlMs: TTL, describe: 'test' }));
      const stop = new AbortController();
      let holders = 0;
      let maxHolders = 0;
      const fences: number[] = [];
      const contender = async (i: number) => {
        for (let round = 0; round < 3; round++) {
          const held = await leaders[i]!.acquire('bot-a', stop.signal);
          if (!held) return;
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          fences.push(held.fence);
          await sleep(50);
          holders--;
          await held.release();
        }
      };
      await Promise.all([0, 1, 2].map(contender));
      expect(maxHolders).toBe(1);
      expect(fences).toHaveLength(9);
      expect([...fences].sort((a, b) => a - b)).toEqual(fences);
      expect(new Set(fences).size).toBe(9);
      // Keyed by the name under the prefix; nothing left held after release.
      const keys = await keysByPrefix(redis.admin, `${prefix}:leader`);
      expect(keys.every((k) => k.includes('{bot-a}'))).toBe(true);
      expect(keys.some((k) => k.endsWith(':lease'))).toBe(false);
    } finally {
      clients.forEach((c) => c.disconnect());
    }
  });

  it('a holder that goes silent (its Redis connection dies) loses it: its signal aborts and another takes over within ~1.25 × TTL', async () => {
    const [a, b] = await Promise.all([connectRedis(), connectRedis()]);
    try {
      const la = createRedisLeadership({ client: a, prefix, ttlMs: TTL, describe: 'a' });
      const lb = createRedisLeadership({ client: b, prefix, ttlMs: TTL, describe: 'b' });
      const never = new AbortController().signal;
      const heldA = (await la.acquire('bot-b', never))!;
      const waiting = lb.acquire('bot-b', never);
      let bGot = false;
      void waiting.then(() => (bGot = true));
      await sleep(TTL);
      expect(bGot).toBe(false);
      const diedAt = Date.now();
      a.disconnect(); // renewals can no longer reach Redis, as if the process had been killed
      const heldB = (await waiting)!;
      const takeover = Date.now() - diedAt;
      expect(takeover).toBeLessThan(TTL * 2.5);
      expect(heldB.fence).toBeGreaterThan(heldA.fence);
      await sleep(TTL / 2);
      expect(heldA.signal.aborted).toBe(true);
      expect(heldB.signal.aborted).toBe(false);
      await heldB.release();
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('acquire returns null when its signal aborts while waiting', async () => {
    const [a, b] = await Promise.all([connectRedis(), connectRedis()]);
    try {
      const held = (await createRedisLeadership({ client: a, prefix, ttlMs: TTL, describe: 'a' }).acquire('bot-c', new AbortController().signal))!;
      const stop = new AbortController();
      const waiting = createRedisLeadership({ client: b, prefix, ttlMs: TTL, describe: 'b' }).acquire('bot-c', stop.signal);
      setTimeout(() => stop.abort(), 200);
      expect(await waiting).toBeNull();
      await held.release();
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
