/**
 * T19 (CI size): the Postgres commit under load from several OS processes. 3000 commits to one
 * session; 20% redeliver a recent inbound id, 10% carry a fence below the highest one recorded.
 * Exactly those are rejected, everything else is committed once, cursors are contiguous — and
 * readers polling `cursor > since` while the commits land never skip an entry (I7's store half).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { CommitResult } from '../../src/core/session-store.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { checkCommitResults, makeCommitPlan } from '../helpers/commit-plan.js';
import { assertDistFresh, killAllChildren, spawnStoreChild } from '../helpers/store-children.js';
import { DATABASE_URL, connectPostgres, dropSchema, uniqueSchema } from './pg-test-env.js';

const COMMITS = 3_000;
const PROCESSES = 3;
const IN_FLIGHT = 6;
const READERS = 3;
const FENCES_ISSUED = 10;
const SESSION = 'bot_telegram_hot';
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'pg-store-child.mjs');

let admin: pg.Pool;
const schema = uniqueSchema();
const dir = mkdtempSync(path.join(tmpdir(), 'pg-t19-'));
beforeAll(async () => {
  assertDistFresh();
  admin = await connectPostgres();
});
afterEach(killAllChildren);
afterAll(async () => {
  await dropSchema(admin, schema);
  await admin?.end();
  rmSync(dir, { recursive: true, force: true });
});

it('T19: commits from 3 processes, 20% duplicate ids, 10% stale fences → exactly those rejected; pollers never skip', { timeout: 180_000 }, async () => {
  const plan = makeCommitPlan(COMMITS, FENCES_ISSUED, 19);
  const planFile = path.join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  // The children open the fresh schema at the same moment: the migration runs once.
  const children = Array.from({ length: PROCESSES }, (_, p) =>
    spawnStoreChild('commit', { url: DATABASE_URL, schema, session: SESSION, planFile, first: p, step: PROCESSES, inFlight: IN_FLIGHT }, { script: CHILD }),
  );
  for (const c of children) await c.waitFor((l) => l === 'ready', 30_000);
  expect((await admin.query(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`)).rows).toEqual([{ name: '001-initial.sql' }, { name: '002-import-session.sql' }, { name: '003-key-value.sql' }, { name: '004-retention-holds.sql' }]);

  // Fences 1..10 issued the way a lease records them.
  const reader = new PostgresSessionStore({ url: DATABASE_URL, schema, maxMessages: 100_000, poolSize: READERS + 1 });
  try {
    for (let f = 1; f <= FENCES_ISSUED; f++) await reader.recordFence(SESSION, f);
    await reader.recordFence(SESSION, 3); // never lowers it

    let writing = true;
    const pollers = Array.from({ length: READERS }, async () => {
      let since = 0;
      let polls = 0;
      const seen: number[] = [];
      while (writing || polls === 0) {
        const batch = await reader.getEntries(SESSION, { after: since, limit: 50 });
        polls++;
        for (const e of batch) {
          // The only way to skip is an entry becoming visible after a later one was read.
          expect(e.cursor, `poller jumped from ${since} to ${e.cursor}`).toBe(since + 1);
          since = e.cursor;
          seen.push(e.cursor);
        }
      }
      // Catch up on whatever landed after the last poll.
      for (let batch = await reader.getEntries(SESSION, { after: since }); batch.length > 0; batch = []) {
        for (const e of batch) {
          expect(e.cursor).toBe(since + 1);
          since = e.cursor;
          seen.push(e.cursor);
        }
      }
      return { seen, polls };
    });

    for (const c of children) c.send('go');
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'done', 150_000)));
    writing = false;
    const polled = await Promise.all(pollers);

    const results: CommitResult[] = new Array(COMMITS);
    for (const c of children) {
      for (const line of c.lines) {
        const m = /^r (\d+) (.*)$/.exec(line);
        if (m) results[Number(m[1])] = JSON.parse(m[2]!) as CommitResult;
      }
    }
    const { total } = checkCommitResults(plan, results, FENCES_ISSUED);
    const entries = await reader.getEntries(SESSION);
    expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (let k = 0; k < entries.length; k += 2) expect(entries[k + 1]!.content).toBe(`a${entries[k]!.content.slice(1)}`);
    expect(await reader.getSession(SESSION)).toMatchObject({ lastCursor: total, messageCount: total });
    const { rows } = await admin.query(`SELECT fence FROM ${schema}.sessions`);
    expect(rows).toEqual([{ fence: String(FENCES_ISSUED) }]);

    // Every poller saw every cursor exactly once, in order, and really polled during the writes.
    for (const { seen, polls } of polled) {
      expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(polls).toBeGreaterThan(5);
    }
  } finally {
    await reader.close();
  }
});
