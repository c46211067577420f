/**
 * T05 graceful shutdown: SIGTERM to a `bot worker` with slow turns in flight. The turns it is
 * running finish and commit once; kick jobs it has not started stay in the queue and another
 * worker answers them (handed back); the worker exits 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import {
  checkEchoLog,
  closeAllIngresses,
  fakeModelEnv,
  Ingress,
  killEverything,
  makeEnv,
  overlapTrackingResponder,
  startWorker,
  uniqueNames,
  waitFor,
} from '../helpers/distributed-harness.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await killEverything();
  await closeAllIngresses();
});
afterAll(async () => {
  await killEverything();
  await fake?.close();
});

describe('T05 graceful shutdown', () => {
  it('SIGTERM with turns in flight: they finish and commit once, queued work is handed back, exit 0', async () => {
    const { prefix, queueName } = uniqueNames('t05');
    const { responder, stats } = overlapTrackingResponder((text) => text.split('-')[0]!, () => 1200);
    fake.setResponder(responder);
    const env = await makeEnv({ prefix, queueName, model: 'fake-model', concurrency: 4 }, fakeModelEnv(fake.url));
    const ingress = await Ingress.open(prefix, queueName);
    const a = await startWorker('a', env).ready();

    // Three sessions, two turns each; all three start on worker a.
    for (const s of ['x', 'y', 'z']) for (const i of [1, 2]) await ingress.enqueue(`bot_test_${s}`, s, `${s}-m${i}`);
    await waitFor('three turns in flight on worker a', () => stats.calls === 3 && stats.overall === 3);

    const logFrom = a.stderr().length;
    a.signal('SIGTERM');
    await a.waitForLog(/worker stopping/, 5000, logFrom);
    // Arrives during the drain: same session as a turn in flight (a keeps draining it), and a new
    // session whose kick job a must leave for someone else.
    await ingress.enqueue('bot_test_x', 'x', 'x-m3');
    await ingress.enqueue('bot_test_w', 'w', 'w-m1');

    const exit = await a.exited;
    expect(exit, a.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(a.stderr()).toMatch(/"msg":"worker stopped"/);
    // What a had started, it finished before exiting.
    for (const id of ['x-m1', 'x-m2', 'y-m1', 'y-m2', 'z-m1', 'z-m2']) expect(ingress.finals(id), id).toHaveLength(1);
    expect(ingress.finals('w-m1')).toHaveLength(0);
    expect((await ingress.entries('bot_test_w'))).toEqual([]);

    // The handed-back turn is answered by the next worker.
    const b = await startWorker('b', env).ready();
    await waitFor('the handed-back turn to be answered', () => ingress.finals('w-m1').length === 1 && ingress.finals('x-m3').length === 1, { timeoutMs: 15_000 });

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
});
