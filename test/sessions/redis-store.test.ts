/**
 * RedisSessionStore against a real Redis: the shared contract, then what only Redis has to
 * prove — key layout (one hash tag per session), hostile ids staying in the namespace (T28),
 * bounded storage under many appends, and several store instances sharing one prefix.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SessionLease } from '../../src/locks/session-lease.js';
import { HIERARCHY_KEYS } from '../../src/sessions/hierarchy/hierarchy-metadata.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { sessionKeys } from '../../src/redis/redis-keys.js';
import { encodeSessionId } from '../../src/core/session-id.js';
import { HOSTILE_IDS, sessionStoreContract } from '../contract/session-store.contract.js';
import { REDIS_URL, connectRedis, deleteByPrefix, keysByPrefix, uniquePrefix } from '../locks/redis-test-env.js';

let admin: Redis;
beforeAll(async () => {
  admin = await connectRedis();
});
afterAll(async () => {
  await admin?.quit();
});

sessionStoreContract('RedisSessionStore', async ({ maxMessages }) => {
  const prefix = uniquePrefix();
  // A store that opens its own connection from a URL, so close() is exercised too.
  const store = new RedisSessionStore({ url: REDIS_URL, prefix, maxMessages });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await deleteByPrefix(admin, prefix);
    },
  };
});

describe('RedisSessionStore on Redis', () => {
  const prefixes: string[] = [];
  const stores: RedisSessionStore[] = [];
  function open(maxMessages = 1000, prefix = uniquePrefix(), own = false): RedisSessionStore {
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    const store = own ? new RedisSessionStore({ url: REDIS_URL, prefix, maxMessages }) : new RedisSessionStore({ client: admin, prefix, maxMessages });
    stores.push(store);
    return store;
  }
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const p of prefixes.splice(0)) await deleteByPrefix(admin, p);
  });

  const tagOf = (prefix: string, key: string) => new RegExp(`^${prefix}:s:\\{([^{}]*)\\}:(meta|log|ids|lease)$`).exec(key)?.[1];

  it('offers its key layout as redisCommit: the log read raw parses to its history, metadata fields are where it writes them', async () => {
    const store = open();
    expect(store.redisCommit.prefix).toBe(store.prefix);
    const id = 'bot_test_commit:access';
    await store.commitTurn(id, { inboundId: 'in-1', fence: 1, entries: [{ role: 'user', content: 'hi "there"' }, { role: 'assistant', content: 'hello\nagain' }] });
    const keys = sessionKeys(store.prefix, id);
    const raw = await admin.lrange(keys.log, 0, -1);
    expect(store.redisCommit.historyFromLog(raw)).toEqual(await store.getChatHistory(id));
    expect(store.redisCommit.historyFromLog(raw)).toHaveLength(2);
    const field = store.redisCommit.metadataField(HIERARCHY_KEYS.view);
    expect(await admin.hexists(keys.meta, field)).toBe(0);
    await store.updateMetadata(id, { [HIERARCHY_KEYS.view]: { from: 0 } });
    expect(await admin.hexists(keys.meta, field)).toBe(1);
    await store.updateMetadata(id, { [HIERARCHY_KEYS.view]: null });
    expect(await admin.hexists(keys.meta, field)).toBe(0);
  });

  it('keeps every key of one session under one hash tag, even for ids with braces and colons', async () => {
    const store = open();
    const lease = new SessionLease({ client: admin, prefix: store.prefix });
    const ids = ['a{b}:c', '}{', '{x}', 'plain'];
    for (const id of ids) {
      await store.commitTurn(id, { inboundId: 'in-1', fence: 1, entries: [{ role: 'user', content: 'hi' }] });
      await store.updateMetadata(id, { k: 1 });
      expect(await lease.acquire(id, 10_000)).not.toBeNull();
    }
    const keys = await keysByPrefix(admin, store.prefix);
    expect(keys.filter((k) => k !== `${store.prefix}:sessions`)).toHaveLength(ids.length * 4);
    for (const id of ids) {
      const mine = keys.filter((k) => tagOf(store.prefix, k) === encodeSessionId(id));
      // `held` exists only while a retention hold keeps trimmed entries (none here).
      const { held, ...expected } = sessionKeys(store.prefix, id);
      expect(held.startsWith(mine[0]!.slice(0, mine[0]!.lastIndexOf(':')))).toBe(true);
      expect(mine.sort()).toEqual(Object.values(expected).sort());
      // The first `{…}` of every key (what Redis Cluster hashes) is the encoded id.
      for (const k of mine) expect(/\{([^}]*)\}/.exec(k)?.[1]).toBe(encodeSessionId(id));
    }
  });

  it('T28 small: 2000 hostile ids create keys only under the prefix and round-trip', async () => {
    const store = open();
    const marker = `mk${Math.random().toString(36).slice(2, 10)}`;
    const ids = hostileIds(marker, 2000);
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(ids.slice(i, i + 100).map((id, j) => store.addMessage(id, 'user', `#${i + j}`)));
    }
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(async (id, j) => {
          expect(await store.getChatHistory(id)).toEqual([{ role: 'user', content: `#${i + j}` }]);
          expect(await store.getSession(id)).toMatchObject({ id, messageCount: 1, lastCursor: 1 });
        }),
      );
    }
    expect((await store.listSessions({ limit: 5000 })).map((s) => s.id).sort()).toEqual([...ids].sort());
    const expected = new Set(ids.flatMap((id) => [sessionKeys(store.prefix, id).meta, sessionKeys(store.prefix, id).log]));
    expect(new Set(await keysByPrefix(admin, store.prefix))).toEqual(new Set([...expected, `${store.prefix}:sessions`]));
    // Every key anywhere in this Redis that mentions the marker is one of ours.
    await expect(store.addMessage(`${marker}${'x'.repeat(10_240)}`, 'user', 'too long')).rejects.toMatchObject({ code: 'INVALID_SESSION_ID' });
    const everywhere = await scanAll(admin, `*${marker}*`);
    for (const k of everywhere) expect(expected.has(k)).toBe(true);
    expect(everywhere).toHaveLength(expected.size);
  });

  it('appends stay O(1): 20 000 commits with maxMessages 100 keep 100 entries and bounded memory', async () => {
    const store = open(100);
    const { log, ids } = sessionKeys(store.prefix, 'hot');
    const commit = (i: number) => store.commitTurn('hot', { inboundId: `in-${String(i).padStart(6, '0')}`, entries: [{ role: 'user', content: `m-${String(i).padStart(6, '0')}` }] });
    for (let i = 0; i < 1000; i++) await commit(i);
    const [logBytes, idBytes] = [await admin.memory('USAGE', log), await admin.memory('USAGE', ids)];
    for (let i = 1000; i < 20_000; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => commit(i + j)));
    expect(await admin.llen(log)).toBe(100);
    expect(await admin.zcard(ids)).toBe(1000);
    expect(Number(await admin.memory('USAGE', log))).toBeLessThanOrEqual(Number(logBytes) * 1.5);
    expect(Number(await admin.memory('USAGE', ids))).toBeLessThanOrEqual(Number(idBytes) * 1.5);
    const entries = await store.getEntries('hot');
    expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: 100 }, (_, i) => 19_901 + i));
    expect(await store.getSession('hot')).toMatchObject({ messageCount: 100, lastCursor: 20_000 });
    expect(await store.findCommitted('hot', 'in-019999')).toBe(20_000);
    expect(await store.findCommitted('hot', 'in-000000')).toBeNull();
  });

  it('a second store instance on the same prefix sees everything the first wrote', async () => {
    const a = open(1000, uniquePrefix(), true);
    const b = open(1000, a.prefix, true);
    await a.updateMetadata('s', { owner: 'a' });
    expect(await a.commitTurn('s', { inboundId: 'm1', fence: 5, entries: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'r' }] })).toEqual({ status: 'committed', cursors: [1, 2] });
    expect(await b.getChatHistory('s')).toEqual([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'r' }]);
    expect(await b.getSession('s')).toMatchObject({ id: 's', messageCount: 2, lastCursor: 2, metadata: { owner: 'a' } });
    expect(await b.commitTurn('s', { inboundId: 'm1', entries: [{ role: 'user', content: 'again' }] })).toEqual({ status: 'duplicate', cursor: 1 });
    expect(await b.commitTurn('s', { fence: 4, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 5 });
    expect(await b.findCommitted('s', 'm1')).toBe(1);
    expect(await b.clearSession('s')).toBe(true);
    expect(await a.getEntries('s')).toEqual([]);
    expect(await a.addMessage('s', 'user', 'after')).toBe(true);
    expect((await b.getEntries('s')).map((e) => e.cursor)).toEqual([3]);
    expect((await b.listSessions()).map((s) => s.id)).toEqual(['s']);
    expect(await b.deleteSession('s')).toBe(true);
    expect(await a.sessionExists('s')).toBe(false);
  });

  it('metadata values round-trip exactly (no Lua JSON re-encoding)', async () => {
    const store = open();
    const md = { empty: [], obj: {}, float: 0.1 + 0.2, big: Number.MAX_SAFE_INTEGER, nested: { a: [null, 'x'] }, 'k:{}': 'odd key', __proto__x: 1 };
    await store.updateMetadata('s', md);
    expect((await store.getSession('s'))!.metadata).toEqual(md);
    await store.updateMetadata('s', { empty: null, skipped: undefined });
    expect(Object.keys((await store.getSession('s'))!.metadata)).not.toContain('empty');
  });

  it('deleteSession keeps the fence, so a worker fenced before the delete stays stale', async () => {
    const store = open();
    await store.commitTurn('s', { fence: 7, entries: [{ role: 'user', content: 'a' }] });
    expect(await store.deleteSession('s')).toBe(true);
    expect(await store.sessionExists('s')).toBe(false);
    expect(await store.getSession('s')).toBeNull();
    expect(await store.commitTurn('s', { fence: 6, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 7 });
    expect(await store.sessionExists('s')).toBe(false);
    const lease = new SessionLease({ client: admin, prefix: store.prefix });
    expect((await lease.acquire('s', 1000))!.fence).toBe(8);
    expect(await store.commitTurn('s', { fence: 8, entries: [{ role: 'user', content: 'new' }] })).toEqual({ status: 'committed', cursors: [1] });
  });

  it('refuses to touch keys whose meta records another session id (STORE_FAILED)', async () => {
    const store = open();
    await store.addMessage('s', 'user', 'hi');
    await admin.hset(sessionKeys(store.prefix, 's').meta, 'id', 'someone else');
    await expect(store.addMessage('s', 'user', 'x')).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await expect(store.getSession('s')).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await expect(store.deleteSession('s')).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(await admin.llen(sessionKeys(store.prefix, 's').log)).toBe(1);
  });

  it('close() quits only a client the store created; both are safe to call twice', async () => {
    const shared = open();
    await shared.close();
    await shared.close();
    expect(await admin.ping()).toBe('PONG');
    const own = open(10, uniquePrefix(), true);
    await own.addMessage('s', 'user', 'x');
    await own.close();
    await own.close();
    await expect(own.addMessage('s', 'user', 'y')).rejects.toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/closed/) });
    await expect(shared.getChatHistory('s')).rejects.toMatchObject({ code: 'STORE_FAILED' });
  });

  it('rejects a prefix that would break hash tags', () => {
    expect(() => new RedisSessionStore({ client: admin, prefix: 'a{b' })).toThrow(/prefix/);
    expect(() => new RedisSessionStore({ client: admin, maxMessages: 0 })).toThrow(/maxMessages/);
  });
});

async function scanAll(client: Redis, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}

/** Deterministic hostile ids: traversal, braces, colons, globs, NUL, non-BMP, up to 1024 units. */
function hostileIds(marker: string, count: number): string[] {
  const pieces = ['../', '..', '/', '\\', '{', '}', '}{', ':', '::', '*', '?', '[a]', '\u0000', '%2e%2e%2f', '%', '~', ' ', '\n', 'é', '🙂', 'CON', 'A', 'z', '_', '-', '.', '\u{1F600}'];
  let seed = 0x9e3779b9;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ids = new Set<string>(HOSTILE_IDS.map((h) => (marker + h).slice(0, 1024)).filter((id) => id.isWellFormed()));
  while (ids.size < count) {
    const target = rand() < 0.1 ? 1024 : 1 + Math.floor(rand() * 300);
    let id = marker;
    for (;;) {
      const next = id + pieces[Math.floor(rand() * pieces.length)]!;
      if (next.length > target) break;
      id = next;
    }
    while (id.length < target) id += 'x';
    ids.add(id);
  }
  return [...ids];
}
