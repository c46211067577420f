/**
 * T18 (CI size): the commit script under load. 10 000 commits to one session from several
 * clients at once; 20% redeliver a recent inbound id, 10% carry a fence older than the highest
 * one issued by SessionLease. Exactly those are rejected, everything else is committed once,
 * and the cursors are contiguous.
 */
import { expect, it } from 'vitest';
import type { CommitResult } from '../../src/core/session-store.js';
import { SessionLease } from '../../src/locks/session-lease.js';
import { sessionKeys } from '../../src/redis/redis-keys.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { checkCommitResults, makeCommitPlan } from '../helpers/commit-plan.js';
import { REDIS_URL, redisForFile } from '../locks/redis-test-env.js';

const COMMITS = 10_000;
const CLIENTS = 4;
const IN_FLIGHT_PER_CLIENT = 8;
const FENCES_ISSUED = 10;
const SESSION = 'bot_telegram_hot';

const redis = redisForFile();
const { prefix } = redis;

it('T18: 10 000 concurrent commits, 20% duplicate ids, 10% stale fences → exactly those rejected', async () => {
  // Issue fences 1..10 the way workers get them: acquire + release.
  const lease = new SessionLease({ client: redis.admin, prefix });
  for (let i = 1; i <= FENCES_ISSUED; i++) {
    const grant = await lease.acquire(SESSION, 5_000);
    expect(grant?.fence).toBe(i);
    expect(await lease.release(SESSION, grant!.token)).toBe(true);
  }

  const plan = makeCommitPlan(COMMITS, FENCES_ISSUED, 42);
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

    // Stale fences rejected, each inbound id committed once, cursors 1..2N with no gap; and the
    // log holds exactly the committed turns, in pairs.
    const { groups, total } = checkCommitResults(plan, results, FENCES_ISSUED);
    const entries = await stores[0]!.getEntries(SESSION);
    expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const userIds = entries.filter((e) => e.role === 'user').map((e) => e.content.split(':')[1]);
    expect(new Set(userIds)).toEqual(new Set(groups.keys()));
    expect(userIds).toHaveLength(groups.size);
    for (let k = 0; k < entries.length; k += 2) expect(entries[k + 1]!.content).toBe(`a${entries[k]!.content.slice(1)}`);
    expect(await stores[0]!.getSession(SESSION)).toMatchObject({ lastCursor: total, messageCount: total });
    // The fence was never lowered by the stale commits.
    expect(await redis.admin.hget(sessionKeys(prefix, SESSION).meta, 'fence')).toBe(String(FENCES_ISSUED));
  } finally {
    for (const s of stores) await s.close();
  }
});
