/**
 * Distributed mode with `store.backend: postgres`: BullMQ on Redis carries the turns, two
 * `bot worker` processes run them, history lives in Postgres. Each session is answered in order
 * with full context, redeliveries are committed once, nothing of the history is in Redis, the
 * Redis lease's fences reach Postgres, and `bot chat` round-trips through a worker.
 */
import { describe, expect, it } from 'vitest';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { checkEchoLog, distributedSuite, keysWithPrefix, postgresSchemaForFile, range, startWorker, waitFor } from '../helpers/distributed-harness.js';
import { runCliJson } from '../helpers/run-cli.js';

const suite = distributedSuite();
const postgres = postgresSchemaForFile();
const { schema } = postgres;

const SESSIONS = 6;
const PER_SESSION = 12;

describe('bot worker with store.backend postgres', () => {
  it(`${SESSIONS} sessions × ${PER_SESSION} messages (+ redeliveries) on 2 workers: in order, once each, history only in Postgres`, { timeout: 180_000 }, async () => {
    const { prefix, env, ingress } = await suite.setUp('pg', { concurrency: 4, postgresSchema: schema });
    const workers = [startWorker('a', env), startWorker('b', env)];
    await Promise.all(workers.map((w) => w.ready()));
    expect(workers[0]!.stderr()).toMatch(/"store":"postgres"/);

    const sessionIds = range(SESSIONS).map((s) => `bot_test_pg${s}`);
    await Promise.all(
      sessionIds.map(async (sid, s) => {
        for (let i = 0; i < PER_SESSION; i++) {
          await ingress.enqueue(sid, `u${s}`, `pg${s}-m${i}`);
          // Every fourth message is delivered again by the "platform".
          if (i % 4 === 3) await ingress.enqueue(sid, `u${s}`, `pg${s}-m${i}`);
        }
      }),
    );
    const store = new PostgresSessionStore({ pool: postgres.admin, schema });
    await waitFor(
      'every turn committed in Postgres',
      async () => (await Promise.all(sessionIds.map((sid) => store.getSession(sid)))).every((info) => info?.lastCursor === PER_SESSION * 2),
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    for (const [s, sid] of sessionIds.entries()) {
      const entries = await store.getEntries(sid);
      expect(checkEchoLog(entries)).toEqual(range(PER_SESSION).map((i) => `pg${s}-m${i}`));
    }
    await waitFor('a reply delivered per message', () => ingress.finals().filter((f) => !f.duplicate).length >= SESSIONS * PER_SESSION, { timeoutMs: 30_000 });
    // The Redis lease's fences were recorded in Postgres before the commits they guard.
    const fences = await postgres.admin.query<{ fence: string }>(`SELECT fence FROM ${schema}.sessions`);
    expect(fences.rows).toHaveLength(SESSIONS);
    for (const r of fences.rows) expect(Number(r.fence)).toBeGreaterThanOrEqual(1);
    // Redis holds the queue and the leases, never the history.
    const keys = await keysWithPrefix(ingress.client, prefix);
    expect(keys.filter((k) => /:(log|ids)$/.test(k))).toEqual([]);

    // bot chat in distributed mode goes through a worker and reads history from Postgres.
    const args = (m: string) => ['--config', env.configPath, 'chat', '--session', 'pg-chat', '--message', m, '--json'];
    expect(await runCliJson(env.sandbox, args('My name is Alice'))).toMatchObject({ kind: 'reply', cursor: 2 });
    const second = await runCliJson(env.sandbox, args("What's my name?"));
    expect(second.reply).toContain('Your name is Alice');
    expect((await store.getEntries('pg-chat')).map((e) => e.cursor)).toEqual([1, 2, 3, 4]);
    await store.close();
  });
});
