/**
 * T05 graceful shutdown: SIGTERM to a `bot worker` with slow turns in flight. The turns it is
 * running finish and commit once; the rest of those sessions' inboxes, and kick jobs it has
 * not started, are handed back and another worker answers them; the worker exits 0 — promptly,
 * even while a session it drains keeps getting messages.
 */
import { describe, expect, it } from 'vitest';
import { inboxKeys } from '../../src/queue/inbox-keys.js';
import { checkEchoLog, overlapTrackingResponder, sleep, startWorker, waitFor, distributedSuite } from '../helpers/distributed-harness.js';

const suite = distributedSuite();

describe('T05 graceful shutdown', () => {
  it('SIGTERM with turns in flight: they finish and commit once, the rest is handed back, exit 0', async () => {
    const { responder, stats } = overlapTrackingResponder((text) => text.split('-')[0]!, () => 1200);
    suite.fake.setResponder(responder);
    const { env, ingress } = await suite.setUp('t05', { fakeModel: true, concurrency: 4 });
    const a = await startWorker('a', env).ready();

    // Three sessions, two turns each; all three start on worker a.
    for (const s of ['x', 'y', 'z']) for (const i of [1, 2]) await ingress.enqueue(`bot_test_${s}`, s, `${s}-m${i}`);
    await waitFor('three turns in flight on worker a', () => stats.calls === 3 && stats.overall === 3);

    const logFrom = a.stderr().length;
    a.signal('SIGTERM');
    await a.waitForLog(/worker stopping/, 5000, logFrom);
    // Arrives during the drain: same session as a turn in flight, and a new session whose kick
    // job a must leave for someone else.
    await ingress.enqueue('bot_test_x', 'x', 'x-m3');
    await ingress.enqueue('bot_test_w', 'w', 'w-m1');

    const exit = await a.exited;
    expect(exit, a.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(a.stderr()).toMatch(/"msg":"worker stopped"/);
    // The turns in flight finished (committed and delivered) before a exited; the rest of each
    // inbox was handed back untouched, not started.
    for (const id of ['x-m1', 'y-m1', 'z-m1']) expect(ingress.finals(id), id).toHaveLength(1);
    for (const s of ['x', 'y', 'z']) expect((await ingress.entries(`bot_test_${s}`)).length, s).toBe(2);
    expect(ingress.finals()).toHaveLength(3);
    expect(stats.calls).toBe(3);
    expect(await ingress.entries('bot_test_w')).toEqual([]);

    // The handed-back turns are answered by the next worker.
    const b = await startWorker('b', env).ready();
    await waitFor('the handed-back turns to be answered', () => ingress.finals().length === 8, { timeoutMs: 20_000 });

    expect(checkEchoLog(await ingress.entries('bot_test_x'))).toEqual(['x-m1', 'x-m2', 'x-m3']);
    expect(checkEchoLog(await ingress.entries('bot_test_y'))).toEqual(['y-m1', 'y-m2']);
    expect(checkEchoLog(await ingress.entries('bot_test_z'))).toEqual(['z-m1', 'z-m2']);
    expect(checkEchoLog(await ingress.entries('bot_test_w'))).toEqual(['w-m1']);
    expect(stats.calls).toBe(8); // one model call per turn: nothing was run twice
    expect(stats.overlaps).toEqual([]);
    expect(ingress.finals()).toHaveLength(8);
    expect(ingress.finals().every((f) => !f.duplicate)).toBe(true);
    await waitFor('every inbox drained', async () => {
      for (const s of ['x', 'y', 'z', 'w']) {
        const st = await ingress.inboxState(`bot_test_${s}`);
        if (st.inbox || st.pending || st.kicked || st.leased) return false;
      }
      return true;
    });
    expect((await ingress.jobCounts()).failed).toBe(0);
    expect(b.alive).toBe(true);
  }, 60_000);

  it('SIGTERM while draining a session that keeps getting messages: hands it back after the turn in flight and exits 0 promptly', async () => {
    const { responder, stats } = overlapTrackingResponder(() => 'hot', () => 100);
    suite.fake.setResponder(responder);
    const { prefix, env, ingress } = await suite.setUp('t05hot', { fakeModel: true });
    const session = 'bot_test_hot';
    const a = await startWorker('a', env).ready();
    const b = await startWorker('b', env).ready();

    // Messages arrive faster (every 50 ms) than turns finish (~100 ms): the inbox never empties.
    const sent: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 400; i++) {
        await ingress.enqueue(session, 'u', `h${i}`);
        sent.push(`h${i}`);
        await sleep(50);
      }
    })();
    await waitFor('a few turns answered', () => ingress.finals().length >= 3);
    // Whichever worker holds the session gets the SIGTERM: the one finishing its turns now.
    const turnLine = /turn ok: bot_test_hot /;
    const turnsBefore = [a, b].map((w) => w.countLog(turnLine));
    await waitFor('the holder finishes two more turns', () => [a, b].some((w, i) => w.countLog(turnLine) - turnsBefore[i]! >= 2));
    const finished = [a, b].map((w, i) => w.countLog(turnLine) - turnsBefore[i]!);
    const [holder, other] = finished[0]! >= finished[1]! ? [a, b] : [b, a];
    const leaseKey = inboxKeys(prefix, session).lease;
    const tokenBefore = await ingress.client.get(leaseKey);
    expect(tokenBefore).not.toBeNull();
    const before = stats.calls;
    const termAt = Date.now();
    holder.signal('SIGTERM');
    const exit = await Promise.race([holder.exited, sleep(8000).then(() => 'still running' as const)]);
    const exitMs = Date.now() - termAt;
    sending = false;
    await sender;
    expect(exit, `the worker kept draining after SIGTERM\n${holder.stderr().slice(-1500)}`).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(5000);

    // It was the lease holder that stopped: the session moved to another lease (new token).
    await waitFor('the session to be drained under a new lease', async () => {
      const token = await ingress.client.get(leaseKey);
      return token !== null && token !== tokenBefore;
    });
    await waitFor(`all ${sent.length} answered`, () => new Set(ingress.finals().map((f) => f.messageId)).size === sent.length, { timeoutMs: 30_000 });
    expect(checkEchoLog(await ingress.entries(session))).toEqual(sent);
    expect(ingress.finals()).toHaveLength(sent.length);
    expect(stats.overlaps).toEqual([]);
    expect(stats.calls).toBe(sent.length); // the turn in flight at SIGTERM finished once, nothing re-ran
    expect(stats.calls).toBeGreaterThan(before);
    expect(other.alive).toBe(true);
    await waitFor('the inbox to drain', async () => {
      const st = await ingress.inboxState(session);
      return st.inbox === 0 && st.pending === 0 && !st.kicked && !st.leased;
    });
    console.info(`T05 hot session: the draining worker exited ${exitMs} ms after SIGTERM; ${sent.length} turns answered once`);
  }, 60_000);
});
