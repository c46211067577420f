/**
 * T11: SessionLease and holdLease against a real Redis. A lease is a token with an expiry;
 * correctness comes from the fenced commit, which the last test checks end to end (I5).
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/core/errors.js';
import { holdLease, type HeldLease } from '../../src/locks/hold-lease.js';
import { SessionLease } from '../../src/locks/session-lease.js';
import { sessionKeys } from '../../src/redis/redis-keys.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { REDIS_URL, connectRedis, deleteByPrefix, sleep, uniquePrefix } from './redis-test-env.js';

let admin: Redis;
let prefix: string;
let lease: SessionLease;
const held: HeldLease[] = [];
beforeAll(async () => {
  admin = await connectRedis();
});
afterAll(async () => {
  await admin?.quit();
});
afterEach(async () => {
  for (const h of held.splice(0)) await h.release();
  await deleteByPrefix(admin, prefix);
});
beforeEach(() => {
  prefix = uniquePrefix();
  lease = new SessionLease({ client: admin, prefix });
});

describe('SessionLease', () => {
  it('only the holder token renews or releases', async () => {
    const grant = await lease.acquire('s', 5_000);
    expect(grant).toMatchObject({ fence: 1 });
    expect(await lease.acquire('s', 5_000)).toBeNull();
    expect(await lease.renew('s', 'not-the-token', 5_000)).toBe(false);
    expect(await lease.release('s', 'not-the-token')).toBe(false);
    expect(await admin.get(sessionKeys(prefix, 's').lease)).toBe(grant!.token);
    expect(await lease.renew('s', grant!.token, 5_000)).toBe(true);
    expect(await lease.release('s', grant!.token)).toBe(true);
    expect(await admin.exists(sessionKeys(prefix, 's').lease)).toBe(0);
    // A second release (a late retry) is a no-op, even after someone else took it.
    const other = await lease.acquire('s', 5_000);
    expect(await lease.release('s', grant!.token)).toBe(false);
    expect(await admin.get(sessionKeys(prefix, 's').lease)).toBe(other!.token);
  });

  it('renew after expiry fails, and does not resurrect the lease', async () => {
    const grant = await lease.acquire('s', 50);
    await sleep(120);
    expect(await lease.renew('s', grant!.token, 5_000)).toBe(false);
    expect(await admin.exists(sessionKeys(prefix, 's').lease)).toBe(0);
    expect(await lease.release('s', grant!.token)).toBe(false);
    expect(await lease.acquire('s', 5_000)).toMatchObject({ fence: 2 });
  });

  it('fences strictly increase across 200 acquire/release cycles and are per session', async () => {
    let last = 0;
    for (let i = 0; i < 200; i++) {
      const grant = await lease.acquire('s', 5_000);
      expect(grant!.fence).toBeGreaterThan(last);
      last = grant!.fence;
      expect(await lease.release('s', grant!.token)).toBe(true);
    }
    expect(last).toBe(200);
    expect((await lease.acquire('other', 5_000))!.fence).toBe(1);
  });

  it('50 contenders in a tight loop: at most one holder at any instant, and every one gets it', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectRedis()));
    const leases = clients.map((client) => new SessionLease({ client, prefix }));
    let holders = 0;
    let maxHolders = 0;
    const fences: number[] = [];
    try {
      await Promise.all(
        Array.from({ length: 50 }, async (_, c) => {
          const mine = leases[c % leases.length]!;
          for (;;) {
            const grant = await mine.acquire('hot', 2_000);
            if (!grant) {
              await sleep(Math.random() * 2);
              continue;
            }
            holders++;
            maxHolders = Math.max(maxHolders, holders);
            fences.push(grant.fence);
            await sleep(2 + Math.random() * 3); // the critical section, far below the TTL
            holders--;
            expect(await mine.release('hot', grant.token)).toBe(true);
            return;
          }
        }),
      );
    } finally {
      for (const client of clients) await client.quit();
    }
    expect(maxHolders).toBe(1);
    expect(fences).toHaveLength(50);
    // In the order the holders got it, fences went up one by one.
    expect(fences).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('rejects a TTL that is not a positive whole number of ms', async () => {
    await expect(lease.acquire('s', 0)).rejects.toMatchObject({ code: 'INVALID_LEASE_TTL' });
    await expect(lease.renew('s', 'x', 1.5)).rejects.toMatchObject({ code: 'INVALID_LEASE_TTL' });
    await expect(lease.acquire('', 100)).rejects.toMatchObject({ code: 'INVALID_SESSION_ID' });
  });
});

describe('holdLease', () => {
  it('keeps renewing past 3× the TTL while held, and stops on release', async () => {
    const h = (await holdLease(lease, 's', 500))!;
    held.push(h);
    await sleep(1_700);
    expect(h.signal.aborted).toBe(false);
    expect(await admin.get(sessionKeys(prefix, 's').lease)).toBe(h.token);
    expect(await admin.pttl(sessionKeys(prefix, 's').lease)).toBeGreaterThan(0);
    expect(await lease.acquire('s', 500)).toBeNull();
    await h.release();
    await h.release();
    expect(await admin.exists(sessionKeys(prefix, 's').lease)).toBe(0);
    // No renewal after release: a new holder's key is left alone and expires on its own.
    const next = await lease.acquire('s', 200);
    await sleep(450);
    expect(await admin.exists(sessionKeys(prefix, 's').lease)).toBe(0);
    expect(next!.fence).toBe(h.fence + 1);
    expect(h.signal.aborted).toBe(false);
  });

  it('aborts its signal when the key is deleted underneath it', async () => {
    const h = (await holdLease(lease, 's', 300))!;
    held.push(h);
    await admin.del(sessionKeys(prefix, 's').lease);
    await until(() => h.signal.aborted, 3_000);
    expect(h.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(h.signal.reason).toMatchObject({ code: 'LEASE_LOST', fenced: false });
  });

  it('tells onLost listeners and `lost` without making a signal, and a signal made later is already aborted', async () => {
    const h = (await holdLease(lease, 's', 300))!;
    held.push(h);
    const heard: Error[] = [];
    h.onLost((reason) => heard.push(reason));
    const unheard: Error[] = [];
    const stopListening = h.onLost((reason) => unheard.push(reason));
    stopListening();
    expect(h.lost).toBe(false);
    await admin.del(sessionKeys(prefix, 's').lease);
    await until(() => h.lost, 3_000);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toBeInstanceOf(LeaseLostError);
    expect(unheard).toEqual([]);
    // Asked for only now: made aborted, with the same reason.
    expect(h.signal.aborted).toBe(true);
    expect(h.signal.reason).toBe(heard[0]);
    // A listener added after the loss hears it at once.
    const late: Error[] = [];
    h.onLost((reason) => late.push(reason));
    expect(late).toEqual(heard);
  });

  it('never reports a released lease as lost', async () => {
    const h = (await holdLease(lease, 's', 200))!;
    const heard: Error[] = [];
    h.onLost((reason) => heard.push(reason));
    await h.release();
    await sleep(450); // past the TTL: no expiry fires for a released lease
    expect(h.isHeld()).toBe(false);
    expect(h.lost).toBe(false);
    expect(heard).toEqual([]);
    expect(h.signal.aborted).toBe(false);
  });

  it('isHeld() knows at once, before any timer runs, that a paused holder lost its lease', async () => {
    const h = (await holdLease(lease, 's', 300))!;
    held.push(h);
    expect(h.isHeld()).toBe(true);
    // A pause the event loop cannot see (like SIGSTOP): no timer or renewal runs meanwhile.
    const until = performance.now() + 400;
    while (performance.now() < until) {
      /* busy */
    }
    expect(h.signal.aborted).toBe(false); // the expiry timer has not had a chance to run
    expect(h.isHeld()).toBe(false);
    expect(h.signal.aborted).toBe(true);
    expect(h.signal.reason).toMatchObject({ code: 'LEASE_LOST' });
    const released = (await holdLease(lease, 'other', 5_000))!;
    await released.release();
    expect(released.isHeld()).toBe(false);
  });

  it('aborts its signal when another token replaces it', async () => {
    const h = (await holdLease(lease, 's', 300))!;
    held.push(h);
    await admin.set(sessionKeys(prefix, 's').lease, 'intruder', 'PX', 5_000);
    await until(() => h.signal.aborted, 3_000);
    // Its release leaves the other holder's key alone.
    await h.release();
    expect(await admin.get(sessionKeys(prefix, 's').lease)).toBe('intruder');
  });

  it('waits up to waitMs for a taken lease; with the default it tries once', async () => {
    const first = (await holdLease(lease, 's', 5_000))!;
    held.push(first);
    expect(await holdLease(lease, 's', 5_000)).toBeNull();
    expect(await holdLease(lease, 's', 5_000, { waitMs: 100 })).toBeNull();
    setTimeout(() => void first.release(), 150);
    const t0 = Date.now();
    const second = await holdLease(lease, 's', 5_000, { waitMs: 3_000 });
    expect(second).not.toBeNull();
    held.push(second!);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    expect(second!.fence).toBe(first.fence + 1);
  });

  it('a commit with the fence of a lost lease is rejected as stale once another worker acquired', async () => {
    const store = new RedisSessionStore({ url: REDIS_URL, prefix });
    try {
      const a = (await lease.acquire('s', 100))!;
      expect(await store.commitTurn('s', { inboundId: 'm1', fence: a.fence, entries: [{ role: 'user', content: 'by A' }] })).toMatchObject({ status: 'committed' });
      await sleep(200); // A pauses (GC, SIGSTOP) past its TTL
      const b = (await lease.acquire('s', 5_000))!;
      expect(b.fence).toBe(a.fence + 1);
      // B has not committed yet: A is already fenced off by B's acquire.
      expect(await store.commitTurn('s', { inboundId: 'm2', fence: a.fence, entries: [{ role: 'user', content: 'zombie A' }] })).toEqual({ status: 'stale_fence', highestFence: b.fence });
      expect(await lease.renew('s', a.token, 5_000)).toBe(false);
      expect(await store.commitTurn('s', { inboundId: 'm2', fence: b.fence, entries: [{ role: 'user', content: 'by B' }] })).toMatchObject({ status: 'committed', cursors: [2] });
      expect((await store.getChatHistory('s')).map((m) => m.content)).toEqual(['by A', 'by B']);
    } finally {
      await store.close();
    }
  });
});

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
