/**
 * A Postgres crash under a live store: a private server (initdb in a temp dir, on a free port,
 * stopped by pid with SIGQUIT — PostgreSQL's immediate shutdown, i.e. a crash) while commits are
 * flowing. Calls fail with a clear STORE_FAILED and never crash or hang the process; after the
 * restart the same store instance works again, every acknowledged commit survived exactly once,
 * and retrying the failed ones (same inbound ids) never doubles an entry (I1, I2).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CommitResult } from '../../src/core/session-store.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { OwnPostgres, postgresBinDir } from '../helpers/postgres-server.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let own: OwnPostgres;
beforeAll(async () => {
  const bin = postgresBinDir();
  if (!bin) throw new Error('initdb/postgres not found in PG_BIN, on the PATH or under /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql)');
  own = await OwnPostgres.create(bin);
}, 60_000);
afterAll(async () => {
  await own?.destroy();
});

it('a Postgres crash mid-traffic: clear errors, no crash, recovery, every acknowledged commit exactly once', { timeout: 90_000 }, async () => {
  const store = new PostgresSessionStore({ url: own.url, maxMessages: 100_000, poolSize: 4 });
  const commit = (i: number): Promise<CommitResult> =>
    store.commitTurn('s', { inboundId: `m${i}`, entries: [{ role: 'user', content: `u${i}` }, { role: 'assistant', content: `a${i}` }] });
  try {
    for (let i = 0; i < 20; i++) expect((await commit(i)).status).toBe('committed');

    // Traffic from 4 concurrent senders; crash the server once some of it is acknowledged.
    const acked = new Set<number>();
    const failed = new Set<number>();
    const errors: unknown[] = [];
    let next = 20;
    let crashedAt = 0;
    const senders = Array.from({ length: 4 }, async () => {
      while (crashedAt === 0 || Date.now() - crashedAt < 1500) {
        const i = next++;
        try {
          await commit(i);
          acked.add(i);
        } catch (error) {
          failed.add(i);
          errors.push(error);
          await sleep(50);
        }
      }
    });
    while (acked.size < 30) await sleep(5);
    await own.crash();
    crashedAt = Date.now();
    await Promise.all(senders);

    expect(failed.size).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/^Postgres (commitTurn|migrate) failed: /) });
    await expect(store.getEntries('s')).rejects.toMatchObject({ code: 'STORE_FAILED' });

    // Back up on the same data directory: the same store instance recovers by itself.
    await own.start();
    let recovered = false;
    for (const deadline = Date.now() + 20_000; !recovered && Date.now() < deadline; ) {
      recovered = await store.getSession('s').then(
        () => true,
        () => sleep(200).then(() => false),
      );
    }
    expect(recovered).toBe(true);

    // Retry every failed commit with its own inbound id: committed now, or already committed
    // before the crash (its acknowledgement was lost) — never twice.
    for (const i of [...failed].sort((a, b) => a - b)) expect(['committed', 'duplicate']).toContain((await commit(i)).status);
    const entries = await store.getEntries('s');
    const users = entries.filter((e) => e.role === 'user').map((e) => Number(e.content.slice(1)));
    expect(new Set(users).size).toBe(users.length);
    for (const i of [...acked, ...failed, ...Array.from({ length: 20 }, (_, k) => k)]) expect(users).toContain(i);
    expect(users).toHaveLength(20 + acked.size + failed.size);
    expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: entries.length }, (_, k) => k + 1));
    for (let k = 0; k < entries.length; k += 2) expect(entries[k + 1]!.content).toBe(`a${entries[k]!.content.slice(1)}`);
  } finally {
    await store.close();
  }
});
