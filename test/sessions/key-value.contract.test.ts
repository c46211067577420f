/**
 * The key-value capability of the shared stores (adapter state such as a linked device's keys),
 * against real Redis and Postgres: reads in order with nulls, atomic multi-key writes with
 * deletes, prefixes, namespaces kept apart (also for hostile names), clear; on Postgres, a write
 * that fails part-way applies nothing.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionLog } from '../../src/core/session-store.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { SHARED_REDIS_URL } from '../helpers/redis-fixtures.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const opened: SessionLog[] = [];
const schema = `kv_${randomUUID().slice(0, 8).replace(/-/g, '')}`;
afterAll(async () => {
  for (const store of opened) await store.close();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

const backends: Array<[string, () => SessionLog]> = [
  ['redis', () => new RedisSessionStore({ url: SHARED_REDIS_URL, prefix: `kvtest-${randomUUID().slice(0, 8)}` })],
  ['postgres', () => new PostgresSessionStore({ url: DATABASE_URL, schema })],
];

for (const [name, make] of backends) {
  describe(`key-value on ${name}`, () => {
    const store = make();
    opened.push(store);

    it('get/set/delete/keys/clear, in order, atomically, per namespace', async () => {
      const kv = store.keyValue!('bot:wa:auth');
      const other = store.keyValue!('bot:wa:auth:other');
      expect(await kv.get(['a', 'b'])).toEqual([null, null]);
      await kv.set({ 'session-1': '{"x":1}', 'pre-key-1': 'p1', 'pre-key-2': 'p2', creds: 'c' });
      await other.set({ 'session-1': 'not yours' });
      expect(await kv.get(['pre-key-2', 'missing', 'session-1'])).toEqual(['p2', null, '{"x":1}']);
      await kv.set({ 'pre-key-1': null, 'session-1': '{"x":2}' });
      expect(await kv.get(['pre-key-1', 'session-1'])).toEqual([null, '{"x":2}']);
      expect((await kv.keys('pre-key-')).sort()).toEqual(['pre-key-2']);
      expect((await kv.keys()).sort()).toEqual(['creds', 'pre-key-2', 'session-1']);
      await kv.clear();
      expect(await kv.keys()).toEqual([]);
      expect(await other.get(['session-1'])).toEqual(['not yours']);
      await other.clear();
    });

    it('hostile namespace names stay apart and round-trip', async () => {
      const names = ['../x', 'a}b{c', 'bot:1:%2e%2e', 'ü'.repeat(50), 'a\u0000b'.replace('\u0000', '_0_')];
      for (const [i, n] of names.entries()) await store.keyValue!(n).set({ k: String(i) });
      for (const [i, n] of names.entries()) expect(await store.keyValue!(n).get(['k'])).toEqual([String(i)]);
      for (const n of names) await store.keyValue!(n).clear();
    });

    it('1000 keys in one write are all there afterwards', async () => {
      const kv = store.keyValue!('bulk');
      const entries = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`sender-key-${i}`, `v${i}`]));
      await kv.set(entries);
      expect((await kv.keys('sender-key-')).length).toBe(1000);
      expect(await kv.get(['sender-key-999'])).toEqual(['v999']);
      await kv.clear();
    });

    if (name === 'postgres') {
      it('a write that fails part-way (a NUL byte Postgres refuses) applies none of its entries', async () => {
        const kv = store.keyValue!('atomic');
        await expect(kv.set({ good: 'g', bad: 'a\u0000b' })).rejects.toMatchObject({ code: 'STORE_FAILED' });
        expect(await kv.get(['good', 'bad'])).toEqual([null, null]);
      });
    }
  });
}
