/**
 * PostgresSessionStore against a real Postgres: the shared contract, each store in its own
 * schema (dropped after).
 */
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { HOSTILE_IDS, sessionStoreContract } from '../contract/session-store.contract.js';
import { DATABASE_URL, connectPostgres, dropSchema, uniqueSchema } from './pg-test-env.js';

let admin: pg.Pool;
beforeAll(async () => {
  admin = await connectPostgres();
});
afterAll(async () => {
  await admin?.end();
});

sessionStoreContract('PostgresSessionStore', async ({ maxMessages }) => {
  const schema = uniqueSchema();
  // A store that opens its own pool from a URL, so open() and close() are exercised too.
  const store = new PostgresSessionStore({ url: DATABASE_URL, schema, maxMessages, poolSize: 4 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropSchema(admin, schema);
    },
  };
});

describe('PostgresSessionStore on Postgres', () => {
  const schemas: string[] = [];
  const stores: PostgresSessionStore[] = [];
  function open(maxMessages = 1000, schema = uniqueSchema()): PostgresSessionStore {
    if (!schemas.includes(schema)) schemas.push(schema);
    const store = new PostgresSessionStore({ pool: admin, schema, maxMessages });
    stores.push(store);
    return store;
  }
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const s of schemas.splice(0)) await dropSchema(admin, s);
  });
  const count = async (schema: string, table: string) => Number((await admin.query(`SELECT count(*) AS n FROM ${schema}.${table}`)).rows[0].n);

  it('six stores opening one fresh schema at once migrate it exactly once', async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const own = Array.from({ length: 6 }, () => new PostgresSessionStore({ url: DATABASE_URL, schema, poolSize: 2 }));
    try {
      await Promise.all(own.map((s) => s.open()));
      expect((await admin.query(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`)).rows).toEqual([{ name: '001-initial.sql' }, { name: '002-import-session.sql' }, { name: '003-key-value.sql' }, { name: '004-retention-holds.sql' }]);
      await Promise.all(own.map((s, i) => s.addMessage('s', 'user', `from ${i}`)));
      expect(await own[0]!.getEntries('s')).toHaveLength(6);
    } finally {
      for (const s of own) await s.close();
    }
  });

  it('T28 small: 2000 hostile ids round-trip and write nothing outside the store schema', async () => {
    const store = open();
    // A canary beside the store: an injected `DROP TABLE sessions` or a write through a
    // hostile id would reach it first.
    const canary = uniqueSchema();
    schemas.push(canary);
    await admin.query(`CREATE SCHEMA ${canary}; CREATE TABLE ${canary}.sessions (id text); INSERT INTO ${canary}.sessions VALUES ('canary')`);
    const ids = hostileIds(2000);
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(ids.slice(i, i + 100).map((id, j) => store.commitTurn(id, { inboundId: id.slice(0, 512), entries: [{ role: 'user', content: `#${i + j}` }] })));
    }
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(async (id, j) => {
          expect(await store.getChatHistory(id)).toEqual([{ role: 'user', content: `#${i + j}` }]);
          expect(await store.getSession(id)).toMatchObject({ id, messageCount: 1, lastCursor: 1 });
          expect(await store.findCommitted(id, id.slice(0, 512))).toBe(1);
        }),
      );
    }
    expect((await store.listSessions({ limit: 5000 })).map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(await count(store.schema, 'sessions')).toBe(ids.length);
    expect(await count(store.schema, 'entries')).toBe(ids.length);
    // The ids are stored as their exact UTF-8 bytes, never interpreted.
    const { rows } = await admin.query(`SELECT id FROM ${store.schema}.sessions`);
    expect(new Set(rows.map((r: { id: Buffer }) => r.id.toString('utf8')))).toEqual(new Set(ids));
    await expect(store.addMessage(`x${'y'.repeat(10_240)}`, 'user', 'too long')).rejects.toMatchObject({ code: 'INVALID_SESSION_ID' });
    expect((await admin.query(`SELECT id FROM ${canary}.sessions`)).rows).toEqual([{ id: 'canary' }]);
    const tables = await admin.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [store.schema]);
    expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(['entries', 'inbound_ids', 'key_value', 'schema_migrations', 'sessions']);
  });

  it('storage is bounded: 5000 commits with maxMessages 50 keep 50 rows and about 1000 inbound ids', async () => {
    const store = open(50);
    for (let i = 0; i < 5000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => store.commitTurn('hot', { inboundId: `in-${i + j}`, entries: [{ role: 'user', content: `m-${i + j}` }] })));
    }
    expect(await count(store.schema, 'entries')).toBe(50);
    const ids = await count(store.schema, 'inbound_ids');
    expect(ids).toBeGreaterThanOrEqual(1000);
    expect(ids).toBeLessThanOrEqual(1000 + 128);
    expect((await store.getEntries('hot')).map((e) => e.cursor)).toEqual(Array.from({ length: 50 }, (_, i) => 4951 + i));
    expect(await store.getSession('hot')).toMatchObject({ messageCount: 50, lastCursor: 5000 });
    expect(await store.findCommitted('hot', 'in-4999')).toBe(5000);
    expect(await store.findCommitted('hot', 'in-0')).toBeNull();
  });

  it('recordFence rejects a lost lease before the new holder commits, never lowers, and is no session', async () => {
    const store = open();
    await store.recordFence('s', 4);
    expect(await store.sessionExists('s')).toBe(false);
    expect(await store.listSessions()).toEqual([]);
    expect(await store.commitTurn('s', { fence: 3, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 4 });
    await store.recordFence('s', 2);
    expect(await store.commitTurn('s', { fence: 4, entries: [{ role: 'user', content: 'holder' }] })).toEqual({ status: 'committed', cursors: [1] });
    expect(await store.getSession('s')).toMatchObject({ messageCount: 1, lastCursor: 1 });
    // The fence survives delete (a tombstone row), and the next session under the id restarts at 1.
    expect(await store.deleteSession('s')).toBe(true);
    expect(await store.commitTurn('s', { fence: 3, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 4 });
    expect(await store.commitTurn('s', { fence: 5, entries: [{ role: 'user', content: 'new' }] })).toEqual({ status: 'committed', cursors: [1] });
    await expect(store.recordFence('s', -1)).rejects.toMatchObject({ code: 'INVALID_COMMIT' });
  });

  it('metadata values round-trip exactly, including keys and strings jsonb would refuse', async () => {
    const store = open();
    const md = { empty: [], obj: {}, float: 0.1 + 0.2, big: Number.MAX_SAFE_INTEGER, nested: { a: [null, 'x'] }, 'nul\u0000key': 'nul\u0000value', __proto__x: 1 };
    await store.updateMetadata('s', md);
    expect((await store.getSession('s'))!.metadata).toEqual(md);
    await store.updateMetadata('s', { empty: null, skipped: undefined });
    expect(Object.keys((await store.getSession('s'))!.metadata)).not.toContain('empty');
    await store.addMessage('s', 'user', 'x', { 'nul\u0000': '\u0000' });
    expect((await store.getEntries('s'))[0]!.metadata).toEqual({ 'nul\u0000': '\u0000' });
  });

  it('close() ends only a pool the store created; a closed store says so; bad options fail at construction', async () => {
    const shared = open();
    await shared.addMessage('s', 'user', 'x');
    await shared.close();
    await shared.close();
    expect((await admin.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await expect(shared.getChatHistory('s')).rejects.toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/closed/) });
    expect(() => new PostgresSessionStore({ pool: admin, schema: 'Bad-Name' })).toThrow(/schema/);
    expect(() => new PostgresSessionStore({ pool: admin, schema: 'x; DROP SCHEMA public' })).toThrow(/schema/);
    expect(() => new PostgresSessionStore({ pool: admin, maxMessages: 0 })).toThrow(/maxMessages/);
  });

  it('an unreachable Postgres is a clear STORE_FAILED, not a hang or a crash', async () => {
    const store = new PostgresSessionStore({ url: 'postgres://postgres@127.0.0.1:1/none', schema: uniqueSchema() });
    try {
      await expect(store.addMessage('s', 'user', 'x')).rejects.toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/reachable/) });
    } finally {
      await store.close();
    }
  });
});

/** Deterministic hostile ids: traversal, quotes, SQL, NUL, non-BMP, up to 1024 units. */
function hostileIds(count: number): string[] {
  const pieces = ['../', '..', '/', '\\', "'", '"', "'; DROP TABLE sessions; --", '$1', '%', '_', '\u0000', '%2e%2e%2f', ':', '*', ' ', '\n', 'é', '🙂', 'CON', 'A', 'z', '.', '\u{1F600}', '\\x00'];
  let seed = 0x2545f491;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ids = new Set<string>(HOSTILE_IDS);
  while (ids.size < count) {
    const target = rand() < 0.1 ? 1024 : 1 + Math.floor(rand() * 300);
    let id = '';
    for (;;) {
      const next = id + pieces[Math.floor(rand() * pieces.length)]!;
      if (next.length > target) break;
      id = next;
    }
    if (id.length === 0) id = 'x';
    ids.add(id);
  }
  return [...ids];
}
