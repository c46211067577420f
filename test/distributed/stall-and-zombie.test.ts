/**
 * T03 stall recovery and T04 zombie worker, with a slow model (the fake OpenAI-compatible server)
 * and real `bot worker` processes:
 * - T03: the worker running a slow turn is SIGKILLed; another worker restarts the turn within
 *   lockDuration + 2 × stalledInterval + 2 s and commits it exactly once.
 * - T04: the worker running a slow turn is SIGSTOPped past its lease; another worker takes over
 *   and commits; after SIGCONT the zombie commits nothing and sends nothing (I5).
 */
import { describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeChatBody, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { FAST_WORKER_FLAGS, startWorker, waitFor, distributedSuite } from '../helpers/distributed-harness.js';

const suite = distributedSuite();

interface Call {
  at: number;
  last: string;
  users: number;
}

/** The first call for `slowText` is slow (`chunks` words, `delayMs` before each); later calls answer at once. */
function slowFirstCall(slowText: string, delayMs: number, chunks: number): Call[] {
  const calls: Call[] = [];
  suite.fake.setResponder((body: FakeChatBody) => {
    const users = (body.messages ?? []).filter((m) => m.role === 'user');
    const last = String(users.at(-1)?.content ?? '');
    calls.push({ at: Date.now(), last, users: users.length });
    const first = calls.filter((c) => c.last === last).length === 1;
    if (last === slowText && first) return { text: Array.from({ length: chunks }, (_, i) => `zombie${i}`).join(' '), delayMs };
    return `answer to ${last} after ${users.length} user turn(s)`;
  });
  return calls;
}

describe('T03 stall recovery', () => {
  it('a turn killed mid-model-call restarts on another worker within lockDuration + 2×stalledInterval + 2 s and commits once', async () => {
    const { env, ingress } = await suite.setUp('t03', { fakeModel: true });
    const calls = slowFirstCall('slow one', 6000, 1);
    const session = 'bot_test_t03';

    const a = await startWorker('a', env).ready();
    await ingress.enqueue(session, 'u', 'm1', 'slow one');
    await waitFor('worker a to call the model', () => calls.length === 1);
    const b = await startWorker('b', env).ready();
    expect(calls).toHaveLength(1); // still mid-turn on a

    const killedAt = Date.now();
    await a.kill();
    await waitFor('the turn to restart on worker b', () => calls.length === 2, { timeoutMs: 15_000 });
    const restartMs = calls[1]!.at - killedAt;
    const budget = FAST_WORKER_FLAGS.lockDuration + 2 * FAST_WORKER_FLAGS.stalledInterval + 2000;
    expect(restartMs).toBeLessThanOrEqual(budget);
    expect(calls[1]).toMatchObject({ last: 'slow one', users: 1 });

    await waitFor('the reply to be delivered', () => ingress.finals('m1').length === 1);
    const entries = await ingress.entries(session);
    expect(entries.map((e) => [e.role, e.content])).toEqual([
      ['user', 'slow one'],
      ['assistant', 'answer to slow one after 1 user turn(s)'],
    ]);
    expect(ingress.finals('m1')[0]).toMatchObject({ text: 'answer to slow one after 1 user turn(s)', duplicate: false });
    expect(ingress.events.filter((e) => e.kind === 'failed')).toEqual([]);
    await waitFor('the inbox to drain', async () => {
      const st = await ingress.inboxState(session);
      return st.inbox === 0 && st.pending === 0 && !st.kicked && !st.leased;
    });
    await waitFor('no kick job left waiting or active', async () => {
      const c = await ingress.jobCounts();
      return c.wait === 0 && c.active === 0;
    });
    expect((await ingress.jobCounts()).failed).toBe(0);
    expect(b.alive).toBe(true);
    console.info(`T03: restarted ${restartMs} ms after the kill (budget ${budget} ms)`);
  }, 60_000);
});

describe('T04 zombie worker', () => {
  it('a worker SIGSTOPped past its lease commits nothing and sends nothing after SIGCONT; the new holder answers once', async () => {
    const { env, ingress } = await suite.setUp('t04', { fakeModel: true });
    // Three slow chunks: while the zombie is stopped, the fake keeps writing them into its socket,
    // so on SIGCONT it has a full (stale) reply to stream, commit and send — and must do neither.
    const calls = slowFirstCall('zombie turn', 1500, 3);
    const session = 'bot_test_t04';

    const zombie = await startWorker('zombie', env).ready();
    await ingress.enqueue(session, 'u', 'z1', 'zombie turn');
    await waitFor('the zombie-to-be to call the model', () => calls.length === 1);
    const heir = await startWorker('heir', env).ready();
    expect(calls).toHaveLength(1);

    zombie.signal('SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor('the heir to take over and deliver', () => ingress.finals('z1').length === 1, { timeoutMs: 20_000 });
    expect(Date.now() - stoppedAt).toBeGreaterThan(FAST_WORKER_FLAGS.leaseTtl);
    expect(calls).toHaveLength(2);
    const heirReply = 'answer to zombie turn after 1 user turn(s)';
    expect(ingress.finals('z1')[0]).toMatchObject({ text: heirReply, duplicate: false });

    // Let the fake finish writing the whole stale reply into the stopped zombie's socket, so it
    // has data to act on the moment it wakes (before its timers run).
    await waitFor('the stale reply to be fully written', () => Date.now() >= calls[0]!.at + 3 * 1500 + 500, { timeoutMs: 10_000 });

    // Wake the zombie. Everything it does from here on must be discarded.
    const mark = ingress.events.length;
    const logFrom = zombie.stderr().length;
    zombie.signal('SIGCONT');
    await zombie.waitForLog(/lease lost; turn discarded/, 15_000, logFrom);
    // Give a late send time to show up on the delivery channel (the zombie is alive and connected).
    const probe = 'bot_test_t04_probe';
    await ingress.enqueue(probe, 'u', 'p1', 'probe');
    await waitFor('a later turn to be answered', () => ingress.finals('p1').length === 1, { timeoutMs: 15_000 });

    const afterWake = ingress.events.slice(mark).filter((e) => e.sessionId === session);
    expect(afterWake, 'the zombie sent something after SIGCONT (I5)').toEqual([]);
    // A partial streamed before the stop, while the zombie-to-be still held the lease, is
    // legitimate (on a loaded machine the heir's start-up can outlast the first 1.5 s chunk).
    expect(ingress.events.filter((e) => e.kind === 'partial' && e.text?.includes('zombie') && e.at > stoppedAt + 100), 'zombie partials').toEqual([]);
    expect(ingress.finals('z1')).toHaveLength(1);
    const entries = await ingress.entries(session);
    expect(entries.map((e) => [e.role, e.content])).toEqual([
      ['user', 'zombie turn'],
      ['assistant', heirReply],
    ]);
    await waitFor('the inbox to drain', async () => {
      const st = await ingress.inboxState(session);
      return st.inbox === 0 && st.pending === 0 && !st.leased;
    });
    expect(zombie.alive && heir.alive).toBe(true);
    expect((await ingress.jobCounts()).failed).toBe(0);
  }, 60_000);
});
