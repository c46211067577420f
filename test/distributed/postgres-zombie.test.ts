/**
 * I5 with `store.backend: postgres`: the lease lives in Redis, the history in Postgres. Each
 * worker records the fence its lease got in Postgres before running anything (checked while
 * the model call is still in flight, so no commit could have carried it there), and a worker
 * SIGSTOPped past its lease wakes up while the new holder still waits for the model: it commits
 * nothing and sends nothing; the heir's reply is the one stored and delivered.
 */
import { describe, expect, it } from 'vitest';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { sessionKeys } from '../../src/redis/redis-keys.js';
import type { FakeChatBody } from '../helpers/fake-openai-server.js';
import { distributedSuite, FAST_WORKER_FLAGS, postgresSchemaForFile, startWorker, waitFor } from '../helpers/distributed-harness.js';

const suite = distributedSuite();
const postgres = postgresSchemaForFile();
const { schema } = postgres;

describe('T04 zombie worker on the Postgres store', () => {
  it('a zombie that wakes before the new holder commits commits nothing and sends nothing', { timeout: 150_000 }, async () => {
    const calls: Array<{ at: number }> = [];
    suite.fake.setResponder((body: FakeChatBody) => {
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      calls.push({ at: Date.now() });
      // The zombie's call streams three slow chunks; the heir's (one chunk) only after 10 s.
      if (calls.length === 1) return { text: 'zombie0 zombie1 zombie2', delayMs: 1000 };
      return { text: `heir-answer-after-${users.length}-user-turns`, delayMs: calls.length === 2 ? 10_000 : 0 };
    });
    const { prefix, env, ingress } = await suite.setUp('pgz', { fakeModel: true, postgresSchema: schema });
    const session = 'bot_test_pg_zombie';
    const zombie = await startWorker('zombie', env).ready();
    await ingress.enqueue(session, 'u', 'z1', 'zombie turn');
    await waitFor('the zombie-to-be to call the model', () => calls.length === 1);
    // The lease's fence (issued in Redis) is in Postgres before any commit.
    const fences = async () => {
      const [redisFence, row] = await Promise.all([
        ingress.client.hget(sessionKeys(prefix, session).meta, 'fence'),
        postgres.admin.query<{ fence: string }>(`SELECT fence FROM ${schema}.sessions WHERE id = $1`, [Buffer.from(session)]),
      ]);
      return { redis: Number(redisFence), postgres: Number(row.rows[0]?.fence ?? 0) };
    };
    expect(await fences()).toEqual({ redis: 1, postgres: 1 });
    const heir = await startWorker('heir', env).ready();
    zombie.signal('SIGSTOP');
    const stoppedAt = Date.now();

    const explain = async () => {
      const jobs = await ingress.queue.queue.getJobCounts();
      return `fences ${JSON.stringify(await fences())}, kick jobs ${JSON.stringify(jobs)}\nheir log:\n${heir.stderr().slice(-3000)}`;
    };
    await waitFor('the heir to take over and call the model', () => calls.length === 2, { timeoutMs: 45_000, explain });
    expect(Date.now() - stoppedAt).toBeGreaterThan(FAST_WORKER_FLAGS.leaseTtl);
    expect(await fences()).toEqual({ redis: 2, postgres: 2 });
    // The zombie's whole reply is in its socket by now; wake it while the heir still waits.
    await waitFor('the stale reply to be fully written', () => Date.now() >= calls[0]!.at + 3 * 1000 + 500, { timeoutMs: 10_000 });
    const store = new PostgresSessionStore({ pool: postgres.admin, schema });
    expect(await store.getEntries(session)).toEqual([]);
    const logFrom = zombie.stderr().length;
    const mark = ingress.events.length;
    zombie.signal('SIGCONT');
    await zombie.waitForLog(/lease lost; turn discarded/, 15_000, logFrom);
    expect(await store.getEntries(session), 'the zombie committed after losing its lease (I5)').toEqual([]);

    await waitFor('the heir to deliver', () => ingress.finals('z1').length === 1, { timeoutMs: 45_000 });
    expect(ingress.finals('z1')[0]).toMatchObject({ text: 'heir-answer-after-1-user-turns', duplicate: false });
    expect((await store.getEntries(session)).map((e) => [e.role, e.content])).toEqual([
      ['user', 'zombie turn'],
      ['assistant', 'heir-answer-after-1-user-turns'],
    ]);
    // After waking, the session got only the heir's reply (partials the zombie streamed while
    // it still held the lease are fine).
    const afterWake = ingress.events.slice(mark).filter((e) => e.sessionId === session);
    expect(afterWake.filter((e) => e.text?.includes('zombie')), 'the zombie sent something after SIGCONT (I5)').toEqual([]);
    expect(afterWake.filter((e) => e.kind === 'final').map((e) => e.text)).toEqual(['heir-answer-after-1-user-turns']);
    expect(zombie.alive && heir.alive).toBe(true);
  });
});
