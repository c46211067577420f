/**
 * T06/T08 Redis restart and outage (CI size), on a private redis-server (AOF on, appendfsync
 * always, SIGKILLed and restarted on the same port and directory):
 * - while Redis is down, enqueue rejects (so ingress refuses the platform, which redelivers)
 *   and nothing of the refused turn is stored;
 * - after the restart the workers reconnect by themselves within 30 s and every accepted turn
 *   — the ones in flight or queued at the crash, and the redelivered ones — is answered exactly
 *   once, in order, with full context (I1–I4);
 * - every reply reaches the ingress exactly once through the durable outbox (I6), also those
 *   produced while the ingress was reconnecting.
 */
import { describe, expect, it } from 'vitest';
import { inboxKeys } from '../../src/queue/inbox-keys.js';
import {
  checkEchoLog,
  overlapTrackingResponder,
  OwnRedis,
  range,
  sleep,
  startWorker,
  waitFor,
  type WorkerFlags,
  distributedSuite,
} from '../helpers/distributed-harness.js';

const suite = distributedSuite();

const SESSIONS = 5;
const PER_SESSION = 6;
const OUTAGE_MS = 4000;

/** Resolves to the rejection, or fails if the promise resolves or hangs. */
async function rejection(p: Promise<unknown>, ms: number): Promise<Error> {
  const outcome = await Promise.race([
    p.then(
      () => ({ kind: 'resolved' as const }),
      (err: Error) => ({ kind: 'rejected' as const, err }),
    ),
    sleep(ms).then(() => ({ kind: 'hung' as const })),
  ]);
  if (outcome.kind !== 'rejected') throw new Error(`enqueue ${outcome.kind} while Redis was down; it must reject so the platform redelivers`);
  return outcome.err;
}

/**
 * Fast timings: the 4 s outage outlasts both the lease TTL and the BullMQ job lock (stall path).
 * Production job timings (lockDuration 30 s, stalled check 15 s, sweep 20 s, orphan age 60 s)
 * with a 2 s lease: the outage outlasts only the lease, so neither the stall check nor the
 * orphan sweep can help within 30 s — the drain that lost its lease must re-kick by itself.
 */
const TIMINGS: Array<[string, WorkerFlags, number]> = [
  ['fast CI timings', {}, 150],
  ['production job timings, 2 s lease', { leaseTtl: 2000, lockDuration: 30_000, stalledInterval: 15_000, sweepInterval: 20_000, orphanAge: 60_000 }, 400],
];

describe('T06/T08 Redis restart and outage', () => {
  it.each(TIMINGS)('enqueue refuses while Redis is down; after a restart workers recover by themselves within 30 s and every accepted turn is answered once (%s)', async (label, flags, modelMs) => {
    const redis = await OwnRedis.start();
    const { responder, stats } = overlapTrackingResponder((text) => text.split('-')[0]!, () => modelMs);
    suite.fake.setResponder(responder);
    const { prefix, env, ingress } = await suite.setUp('t06', { fakeModel: true, redisUrl: redis.url });
    const workers = [startWorker('a', env, flags), startWorker('b', env, flags)];
    await Promise.all(workers.map((w) => w.ready()));

    // Phase 1: accepted turns, some answered, some in flight or queued when Redis dies.
    const sid = (s: number) => `bot_test_r${s}`;
    const accepted = new Map<number, string[]>(range(SESSIONS).map((s) => [s, []]));
    await Promise.all(
      range(SESSIONS).map(async (s) => {
        for (let i = 0; i < PER_SESSION; i++) {
          await ingress.enqueue(sid(s), `u${s}`, `r${s}-m${i}`);
          accepted.get(s)!.push(`r${s}-m${i}`);
        }
      }),
    );
    await waitFor('a few turns answered before the crash', () => ingress.finals().length >= SESSIONS);
    const answeredBeforeCrash = ingress.finals().length;
    await redis.stop('SIGKILL');
    const downAt = Date.now();

    // While down: enqueue refuses (no hang, no half-stored turn).
    await waitFor('the ingress connection to notice the outage', () => ingress.client.status !== 'ready', { timeoutMs: 5000 });
    const refused = ['r0-down1', 'r1-down1', 'r9-down1'];
    for (const id of refused) {
      const err = await rejection(ingress.enqueue(id.startsWith('r9') ? sid(9) : sid(Number(id[1])), 'u', id), 3000);
      expect(err.message).toMatch(/redis|connect|reach/i);
    }
    const left = OUTAGE_MS - (Date.now() - downAt);
    if (left > 0) await sleep(left); // an outage longer than the lease TTL and the job lock

    await redis.launch();
    const upAt = Date.now();
    await waitFor('the ingress connection to come back', () => ingress.client.status === 'ready', { timeoutMs: 10_000 });

    // Nothing of a refused turn was stored anywhere.
    for (const id of refused) {
      const session = id.startsWith('r9') ? sid(9) : sid(Number(id[1]));
      const k = inboxKeys(prefix, session);
      expect(await ingress.client.sismember(k.pending, `b:${id}`), id).toBe(0);
      expect((await ingress.client.lrange(k.inbox, 0, -1)).some((raw) => raw.includes(id)), id).toBe(false);
      expect(await ingress.store.findCommitted(session, `b:${id}`), id).toBeNull();
    }
    // The platform redelivers the refused ones; now they are accepted.
    for (const id of refused) {
      const s = id.startsWith('r9') ? 9 : Number(id[1]);
      await ingress.enqueue(sid(s), `u${s}`, id);
      accepted.set(s, [...(accepted.get(s) ?? []), id]);
    }

    const all = [...accepted.values()].flat();
    await waitFor(
      `every accepted turn (${all.length}) answered after the restart`,
      async () => {
        for (const [s, ids] of accepted) {
          const info = await ingress.store.getSession(sid(s));
          if ((info?.messageCount ?? 0) < 2 * ids.length) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const recoveredMs = Date.now() - upAt;
    expect(recoveredMs).toBeLessThanOrEqual(30_000);

    // I1–I4 per session: each accepted turn exactly once, in order, with full context.
    for (const [s, ids] of accepted) expect(checkEchoLog(await ingress.entries(sid(s))), sid(s)).toEqual(ids);
    expect(stats.overlaps).toEqual([]);
    // The workers reconnected by themselves: still the same processes, and they keep working.
    for (const w of workers) expect(w.alive, w.name).toBe(true);
    await ingress.enqueue(sid(0), 'u0', 'r0-after');
    await waitFor('a turn after recovery to be answered and delivered', () => ingress.finals('r0-after').length === 1, { timeoutMs: 10_000 });
    // Replies of turns accepted after the restart were all delivered.
    for (const id of refused) expect(ingress.finals(id).length, id).toBeGreaterThanOrEqual(1);
    await waitFor('every inbox drained', async () => {
      for (const s of accepted.keys()) {
        const st = await ingress.inboxState(sid(s));
        if (st.inbox || st.pending) return false;
      }
      return true;
    });
    expect((await ingress.jobCounts()).failed).toBe(0);
    // I6 through the outbox: every accepted turn's reply delivered, none twice (the ingress
    // process was never killed, so no send can repeat).
    await waitFor('every reply delivered', () => all.every((id) => ingress.finals(id).length >= 1), { timeoutMs: 15_000 });
    expect(all.filter((id) => ingress.finals(id).length !== 1), 'replies delivered other than once').toEqual([]);
    console.info(
      `T06/T08 (${label}): ${answeredBeforeCrash} answered before the crash, outage ${upAt - downAt} ms, all ${all.length} accepted turns answered ${recoveredMs} ms after the restart and delivered once each`,
    );
  }, 90_000);
});
