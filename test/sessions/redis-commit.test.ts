/**
 * T18 (CI size): the commit script under load. 10 000 commits to one session from several
 * clients at once; 20% redeliver a recent inbound id, 10% carry a fence older than the highest
 * one issued by SessionLease. Exactly those are rejected, everything else is committed once,
 * and the cursors are contiguous.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CommitResult } from '../../src/core/session-store.js';
import { SessionLease } from '../../src/locks/session-lease.js';
import { sessionKeys } from '../../src/sessions/redis-keys.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { REDIS_URL, connectRedis, deleteByPrefix, uniquePrefix } from '../locks/redis-test-env.js';

const COMMITS = 10_000;
const CLIENTS = 4;
const IN_FLIGHT_PER_CLIENT = 8;
const FENCES_ISSUED = 10;
const SESSION = 'bot_telegram_hot';

type Kind = 'original' | 'duplicate' | 'stale';
interface Planned {
  kind: Kind;
  inboundId: string;
  fence?: number;
}

let admin: Redis;
const prefix = uniquePrefix();
beforeAll(async () => {
  admin = await connectRedis();
});
afterAll(async () => {
  await deleteByPrefix(admin, prefix);
  await admin?.quit();
});

it('T18: 10 000 concurrent commits, 20% duplicate ids, 10% stale fences → exactly those rejected', async () => {
  // Issue fences 1..10 the way workers get them: acquire + release.
  const lease = new SessionLease({ client: admin, prefix });
  for (let i = 1; i <= FENCES_ISSUED; i++) {
    const grant = await lease.acquire(SESSION, 5_000);
    expect(grant?.fence).toBe(i);
    expect(await lease.release(SESSION, grant!.token)).toBe(true);
  }

  const plan = makePlan();
  const stores = Array.from({ length: CLIENTS }, () => new RedisSessionStore({ url: REDIS_URL, prefix, maxMessages: 20_000 }));
  const results: CommitResult[] = new Array(plan.length);
  try {
    // One shared queue drained by CLIENTS × IN_FLIGHT workers, so all clients advance together
    // and a redelivery runs within a few hundred commits of its original (as in production,
    // where older redeliveries are caught at ingress, not by the store's 1000 remembered ids).
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS * IN_FLIGHT_PER_CLIENT }, async (_, w) => {
        const store = stores[w % CLIENTS]!;
        while (next < plan.length) {
          const i = next++;
          const p = plan[i]!;
          results[i] = await store.commitTurn(SESSION, {
            inboundId: p.inboundId,
            ...(p.fence !== undefined ? { fence: p.fence } : {}),
            entries: [
              { role: 'user', content: `u:${p.inboundId}:${i}` },
              { role: 'assistant', content: `a:${p.inboundId}:${i}` },
            ],
          });
        }
      }),
    );

    // Stale fences: always rejected, with the highest fence issued.
    const stale = plan.flatMap((p, i) => (p.kind === 'stale' ? [results[i]] : []));
    expect(stale).toHaveLength(COMMITS / 10);
    for (const r of stale) expect(r).toEqual({ status: 'stale_fence', highestFence: FENCES_ISSUED });

    // Each inbound id (its original plus its redeliveries, racing) is committed exactly once;
    // every other attempt is a duplicate pointing at that commit's first cursor.
    const groups = new Map<string, number[]>();
    plan.forEach((p, i) => p.kind !== 'stale' && groups.set(p.inboundId, [...(groups.get(p.inboundId) ?? []), i]));
    expect(plan.filter((p) => p.kind === 'duplicate')).toHaveLength(COMMITS / 5);
    const committedCursors: number[] = [];
    let duplicates = 0;
    for (const members of groups.values()) {
      const rs = members.map((i) => results[i]!);
      const committed = rs.filter((r) => r.status === 'committed');
      expect(committed, `inbound id committed ${committed.length} times: ${JSON.stringify(committed)}`).toHaveLength(1);
      const cursors = (committed[0] as { cursors: number[] }).cursors;
      expect(cursors[1]).toBe(cursors[0]! + 1);
      committedCursors.push(...cursors);
      for (const r of rs) if (r.status !== 'committed') expect(r).toEqual({ status: 'duplicate', cursor: cursors[0] });
      duplicates += rs.length - 1;
    }
    expect(duplicates).toBe(COMMITS / 5);
    expect(groups.size).toBe(COMMITS - COMMITS / 10 - COMMITS / 5);

    // Cursors: 1..2N with no gap, and the log holds exactly the committed turns, in pairs.
    const total = groups.size * 2;
    expect(committedCursors.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const entries = await stores[0]!.getEntries(SESSION);
    expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const userIds = entries.filter((e) => e.role === 'user').map((e) => e.content.split(':')[1]);
    expect(new Set(userIds)).toEqual(new Set(groups.keys()));
    expect(userIds).toHaveLength(groups.size);
    for (let k = 0; k < entries.length; k += 2) expect(entries[k + 1]!.content).toBe(`a${entries[k]!.content.slice(1)}`);
    expect(await stores[0]!.getSession(SESSION)).toMatchObject({ lastCursor: total, messageCount: total });
    // The fence was never lowered by the stale commits.
    expect(await admin.hget(sessionKeys(prefix, SESSION).meta, 'fence')).toBe(String(FENCES_ISSUED));
  } finally {
    for (const s of stores) await s.close();
  }
});

/**
 * A deterministic plan, in blocks of 10: 7 originals, 1 stale, 2 duplicates, shuffled within
 * each block (the first block keeps its originals first). Stale commits have fresh ids, so only
 * the fence can reject them. Duplicates reuse an id from the last 300 slots, well inside the
 * 1000 ids the store remembers even with commits reordered by concurrency. Valid commits carry
 * the current fence or none (a commit without a lease is allowed).
 */
function makePlan(): Planned[] {
  let seed = 42;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const block: Kind[] = ['original', 'original', 'original', 'original', 'original', 'original', 'original', 'stale', 'duplicate', 'duplicate'];
  const plan: Planned[] = [];
  for (let b = 0; b < COMMITS / 10; b++) {
    const kinds = [...block];
    for (let i = kinds.length - 1; b > 0 && i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
    }
    for (const kind of kinds) {
      const i = plan.length;
      const validFence = rand() < 0.5 ? { fence: FENCES_ISSUED } : {};
      if (kind === 'stale') plan.push({ kind, inboundId: `st${i}`, fence: 1 + Math.floor(rand() * (FENCES_ISSUED - 1)) });
      else if (kind === 'original') plan.push({ kind, inboundId: `in${i}`, ...validFence });
      else {
        const recent = plan.slice(Math.max(0, i - 300)).filter((p) => p.kind === 'original');
        plan.push({ kind, inboundId: pick(recent).inboundId, ...validFence });
      }
    }
  }
  return plan;
}
