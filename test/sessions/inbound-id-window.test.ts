/**
 * Every store remembers at least the last RECENT_INBOUND_IDS inbound ids of a session: a retry
 * with fewer commits of the session in between is a duplicate pointing at the first cursor. The
 * memory, file and Redis stores remember exactly that many, so after RECENT_INBOUND_IDS other
 * commits the retry commits a second copy (the file-store crash test depends on this boundary);
 * Postgres trims its ids every 128 cursors, so it may remember up to 127 more. The retry goes
 * through a second store instance where there can be one, as a restarted writer would send it.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionLog } from '../../src/core/session-store.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { RECENT_INBOUND_IDS } from '../../src/sessions/file-log-reader.js';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { connectRedis, deleteByPrefix, uniquePrefix } from '../locks/redis-test-env.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { connectPostgres, dropSchema, uniqueSchema } from './pg-test-env.js';

interface WindowStores {
  /** Commits the first copy and the turns in between. */
  writer: SessionLog;
  /** Sends the retry: the same store, or a fresh instance on the same data. */
  retrier: () => SessionLog;
}

const turn = (inboundId: string) => ({ inboundId, entries: [{ role: 'user' as const, content: inboundId }] });

/**
 * `slack`: how many more single-entry commits past RECENT_INBOUND_IDS the store may still remember
 * an id (0: the window is exact).
 */
function inboundIdWindow(name: string, slack: number, open: () => Promise<WindowStores>, cleanup: () => Promise<void>): void {
  describe(`${name}: the inbound-id window is RECENT_INBOUND_IDS commits${slack ? ` (+ up to ${slack})` : ''}`, () => {
    afterEach(cleanup);

    for (const between of [RECENT_INBOUND_IDS - 1, RECENT_INBOUND_IDS + slack]) {
      const forgotten = between >= RECENT_INBOUND_IDS;
      it(`a retry after ${between} other commits is ${forgotten ? 'committed again' : 'a duplicate with the first cursor'}`, async () => {
        const { writer, retrier } = await open();
        const first = await writer.commitTurn('s', turn('x'));
        expect(first).toEqual({ status: 'committed', cursors: [1] });
        for (let k = 0; k < between; k++) expect((await writer.commitTurn('s', turn(`other-${k}`))).status).toBe('committed');
        const retry = await retrier().commitTurn('s', turn('x'));
        if (forgotten) expect(retry).toEqual({ status: 'committed', cursors: [between + 2] });
        else expect(retry).toEqual({ status: 'duplicate', cursor: 1 });
      }, 60_000);
    }
  });
}

const tmp = new TempDirs();
const memoryCleanup = async () => undefined;
inboundIdWindow('MemorySessionStore', 0, async () => {
  const store = new MemorySessionStore();
  return { writer: store, retrier: () => store };
}, memoryCleanup);

for (const fresh of [false, true]) {
  inboundIdWindow(`FileSessionStore (retry from ${fresh ? 'a fresh instance' : 'the same instance'})`, 0, async () => {
    const dir = await tmp.make('bothost-window-');
    const store = new FileSessionStore({ dir, maxMessages: 1_000_000 });
    return { writer: store, retrier: () => (fresh ? new FileSessionStore({ dir, maxMessages: 1_000_000 }) : store) };
  }, () => tmp.removeAll());
}

let redis: Redis;
let postgres: pg.Pool;
beforeAll(async () => {
  redis = await connectRedis();
  postgres = await connectPostgres();
});
afterAll(async () => {
  await redis?.quit();
  await postgres?.end();
});

const prefixes: string[] = [];
inboundIdWindow('RedisSessionStore', 0, async () => {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const store = new RedisSessionStore({ client: redis, prefix });
  return { writer: store, retrier: () => new RedisSessionStore({ client: redis, prefix }) };
}, async () => {
  for (const p of prefixes.splice(0)) await deleteByPrefix(redis, p);
});

const schemas: string[] = [];
// Trimmed when a commit crosses a multiple of 128 cursors (001-initial.sql, commit_turn).
inboundIdWindow('PostgresSessionStore', 127, async () => {
  const schema = uniqueSchema();
  schemas.push(schema);
  const store = new PostgresSessionStore({ pool: postgres, schema });
  return { writer: store, retrier: () => new PostgresSessionStore({ pool: postgres, schema }) };
}, async () => {
  for (const s of schemas.splice(0)) await dropSchema(postgres, s);
});
