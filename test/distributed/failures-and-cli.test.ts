/**
 * Distributed mode, failure handling and the operator commands:
 * - a permanent model failure (401) → a polite failure delivered, a dead-letter record, and the
 *   session's inbox moves on to its next message; a transient one (503) is retried in place;
 * - `bot queue status --json` shows kick-job counts and queued turns;
 * - `bot worker` refuses a Redis whose maxmemory-policy is not noeviction, and the inline queue.
 */
import { describe, expect, it } from 'vitest';
import { deadLetterKey, inboxKeys } from '../../src/queue/inbox-keys.js';
import { runCli, runCliJson } from '../helpers/run-cli.js';
import {
  checkEchoLog,
  makeEnv,
  openRedis,
  overlapTrackingResponder,
  OwnRedis,
  startWorker,
  turnRequest,
  uniqueNames,
  waitFor,
  distributedSuite,
} from '../helpers/distributed-harness.js';

const suite = distributedSuite();

describe('model failures in a worker', () => {
  it('401 → polite failure + dead letter, the inbox moves on; 503 → retried in place and answered once', async () => {
    const { responder, stats } = overlapTrackingResponder(() => 'one', () => 0);
    suite.fake.setResponder(responder);
    const { prefix, env, ingress } = await suite.setUp('fail', { fakeModel: true });
    const worker = await startWorker('a', env).ready();
    const session = 'bot_test_failing';

    // m1 meets a revoked key; m2 (queued behind it) finds the endpoint healthy again.
    suite.fake.failNext(401);
    await ingress.enqueue(session, 'u', 'm1', 'first');
    await ingress.enqueue(session, 'u', 'm2', 'second');
    await waitFor('m1 to fail and m2 to be answered', () => ingress.events.some((e) => e.kind === 'failed' && e.messageId === 'm1') && ingress.finals('m2').length === 1);

    const failed = ingress.events.filter((e) => e.kind === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.text).toMatch(/^Sorry/);
    expect(failed[0]!.text).not.toMatch(/401|api key|fake-key/i); // polite, never the raw error
    expect(ingress.finals('m1')).toHaveLength(0);

    const dead = (await ingress.client.lrange(deadLetterKey(prefix), 0, -1)).map((raw) => JSON.parse(raw) as Record<string, unknown>);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ sessionId: session, inboundId: 'b:m1', tries: 1 });
    expect(String(dead[0]!.error)).toMatch(/401/);
    expect(JSON.stringify(dead)).not.toContain('fake-key-for-tests');

    // The failed turn is not in the history; the next one ran without it (turn 1).
    expect(checkEchoLog(await ingress.entries(session))).toEqual(['m2']);

    // A transient failure is retried in place (order kept: m4 waits behind m3), no dead letter.
    suite.fake.failNext(503, 2);
    await ingress.enqueue(session, 'u', 'm3', 'third');
    await ingress.enqueue(session, 'u', 'm4', 'fourth');
    await waitFor('m3 and m4 answered', () => ingress.finals('m3').length === 1 && ingress.finals('m4').length === 1, { timeoutMs: 15_000 });
    expect(checkEchoLog(await ingress.entries(session))).toEqual(['m2', 'm3', 'm4']);
    expect(ingress.events.filter((e) => e.kind === 'failed')).toHaveLength(1);
    expect(await ingress.client.llen(deadLetterKey(prefix))).toBe(1);
    expect(stats.calls).toBe(3); // m2, m3 (after two 503s), m4
    await worker.waitForLog(/"willRetry":true,"msg":"turn failed"/);

    await waitFor('the inbox to drain', async () => {
      const st = await ingress.inboxState(session);
      return st.inbox === 0 && st.pending === 0 && !st.kicked && !st.leased;
    });
    expect(await ingress.client.exists(inboxKeys(prefix, session).tries)).toBe(0);
    expect((await ingress.jobCounts()).failed).toBe(0);
  }, 60_000);
});

describe('a model call that hangs', () => {
  it('is aborted after --turn-timeout and retried in place: answered once, the session moves on', async () => {
    // The first call for m1 stalls far longer than the limit; the retry (and m2) answer at once.
    let calls = 0;
    suite.fake.setResponder((body) => {
      calls++;
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      const text = `[echo] turn ${users.length}: you said "${String(users.at(-1)?.content)}"`;
      return calls === 1 ? { text, delayMs: 30_000 } : text;
    });
    const { env, ingress } = await suite.setUp('hang', { fakeModel: true });
    const worker = await startWorker('a', env, { turnTimeout: 400 }).ready();
    const session = 'bot_test_hanging';
    const started = Date.now();
    await ingress.enqueue(session, 'u', 'm1', 'first');
    await ingress.enqueue(session, 'u', 'm2', 'second');
    await waitFor('m1 and m2 answered', () => ingress.finals('m1').length === 1 && ingress.finals('m2').length === 1, { timeoutMs: 15_000 });
    // Long before the stalled call would have ended by itself.
    expect(Date.now() - started).toBeLessThan(10_000);
    await worker.waitForLog(/TimeoutError|took longer than 400 ms/);
    expect(checkEchoLog(await ingress.entries(session))).toEqual(['m1', 'm2']);
    expect(ingress.finals('m1')[0]!.text).toContain('turn 1');
    expect(ingress.finals('m2')[0]!.text).toContain('turn 2');
    expect(calls).toBe(3);
    expect(ingress.events.filter((e) => e.kind === 'failed')).toHaveLength(0);
  }, 30_000);
});

describe('bot queue status', () => {
  it('--json shows kick-job counts, queued turns and tracked sessions, before and after a worker drains them', async () => {
    const { queueName, env, ingress } = await suite.setUp('status');
    for (const s of ['a', 'b', 'c']) for (const i of [1, 2]) await ingress.enqueue(`bot_test_${s}`, s, `${s}${i}`);

    const before = await runCliJson(env.sandbox, ['--config', env.configPath, 'queue', 'status', '--json']);
    expect(before).toMatchObject({ queue: queueName, queuedTurns: 6, sessionsTracked: 3, deadLetters: 0 });
    expect(before.jobs).toMatchObject({ wait: 3, active: 0, failed: 0 });
    expect(before.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(before)).not.toMatch(/password|fake-key/);

    await startWorker('a', env).ready();
    await waitFor('all six answered', () => ingress.finals().length === 6);
    await waitFor('kick jobs finished', async () => {
      const c = await ingress.jobCounts();
      return c.wait === 0 && c.active === 0;
    });
    const after = await runCliJson(env.sandbox, ['--config', env.configPath, 'queue', 'status', '--json']);
    expect(after).toMatchObject({ queuedTurns: 0, deadLetters: 0, oldestWaitingMs: null });
    // The bot's outbox: consumed by the test's ingress, everything acknowledged.
    await waitFor('replies acknowledged', async () => {
      const s = await runCliJson(env.sandbox, ['--config', env.configPath, 'queue', 'status', '--json']);
      return (s.outboxes as Array<Record<string, unknown>>).some((o) => o.bot === 'b' && o.consumerGroup === true && o.undelivered === 0 && o.inDelivery === 0);
    });
    expect(after.jobs).toMatchObject({ wait: 0, active: 0, failed: 0 });

    const human = await runCli(env.sandbox, ['--config', env.configPath, 'queue', 'status']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/turns queued: 0/);
  }, 60_000);
});

describe('bot queue status counts every queued session', () => {
  it('with more sessions queued than one page (1000), every turn is counted and the oldest found', async () => {
    const { env, ingress } = await suite.setUp('status-big');
    const SESSIONS = 1300;
    // The oldest turn is queued first and stamped an hour ago.
    const old = { ...turnRequest('bot_test_big_old', 'old', 'old-1'), inbound: { ...turnRequest('bot_test_big_old', 'old', 'old-1').inbound, receivedAt: Date.now() - 3_600_000 } };
    await ingress.queue.enqueue(old);
    for (let i = 0; i < SESSIONS; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => ingress.enqueue(`bot_test_big_${i + j}`, 'u', `big-${i + j}`)));
    const status = await runCliJson(env.sandbox, ['--config', env.configPath, 'queue', 'status', '--json']);
    expect(status).toMatchObject({ queuedTurns: SESSIONS + 1, sessionsTracked: SESSIONS + 1 });
    expect(status.oldestWaitingMs).toBeGreaterThanOrEqual(3_600_000);
  }, 60_000);
});

describe('bot worker refuses unsafe setups', () => {
  it('exits non-zero with a clear message against a Redis whose maxmemory-policy is not noeviction', async () => {
    const redis = await OwnRedis.start(['--maxmemory-policy', 'allkeys-lru']);
    const { prefix, queueName } = uniqueNames('lru');
    const env = await makeEnv({ prefix, queueName, redisUrl: redis.url });
    const r = await runCli(env.sandbox, ['--config', env.configPath, 'worker'], { timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/maxmemory-policy "allkeys-lru"/);
    expect(r.stderr).toMatch(/noeviction/);
    expect(r.stderr).not.toMatch(/worker ready/);
    // Nothing was written to that Redis.
    const probe = await openRedis(redis.url);
    try {
      expect(await probe.dbsize()).toBe(0);
    } finally {
      probe.disconnect();
    }
  }, 30_000);

  it('exits non-zero naming queue.backend when bots.yaml uses the inline queue', async () => {
    const { prefix, queueName } = uniqueNames('inline');
    const env = await makeEnv({ prefix, queueName, backend: 'inline' });
    const worker = await runCli(env.sandbox, ['--config', env.configPath, 'worker']);
    expect(worker.code).not.toBe(0);
    expect(worker.stderr).toMatch(/queue\.backend/);
    expect(worker.stderr).not.toMatch(/worker ready/);
    const status = await runCli(env.sandbox, ['--config', env.configPath, 'queue', 'status', '--json']);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/queue\.backend/);
  }, 30_000);
});
