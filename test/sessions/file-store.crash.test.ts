/**
 * kill -9 crash safety of the file store (T13/T15, CI size). Writer processes commit
 * user+assistant pairs with inbound ids and print "ack <i> <status> <cursor>" after each commit
 * resolves; the test SIGKILLs them at random moments, restarts them from their last ack (so the
 * commit that was in flight is retried and must be deduplicated), and after every kill checks
 * with a fresh store that every acknowledged turn is there exactly once, whole, in order.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEntry } from '../../src/core/session-store.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { assertDistFresh, killAllChildren, spawnStoreChild, type StoreChild } from '../helpers/store-children.js';
import { sleep, TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();
beforeAll(() => assertDistFresh());
afterEach(async () => {
  await killAllChildren();
  await tmp.removeAll();
});

const FULL = 1_000_000;
const randomInt = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** What the test knows about one writer (identified by its inbound-id prefix). */
class Writer {
  /** i → the cursor its user entry got, for every acknowledged commit. */
  readonly acked = new Map<number, number>();
  lastAck = -1;
  duplicates = 0;
  child: StoreChild | undefined;
  constructor(readonly prefix: string) {}

  /** The commit that may have been in flight when the writer was killed. */
  get next(): number {
    return this.lastAck + 1;
  }

  start(dir: string, session: string, maxMessages: number): StoreChild {
    const start = this.next;
    const child = spawnStoreChild('crash-writer', { dir, session, maxMessages, prefix: this.prefix, start });
    child.onLine((line) => {
      const [tag, i, status, cursor] = line.split(' ');
      if (tag !== 'ack') return;
      const n = Number(i);
      expect(n).toBe(this.lastAck + 1);
      expect(['committed', 'duplicate']).toContain(status);
      // Only the first commit after a restart can be a retry of an unacknowledged one.
      if (status === 'duplicate') {
        expect(n).toBe(start);
        this.duplicates++;
      }
      this.acked.set(n, Number(cursor));
      this.lastAck = n;
    });
    this.child = child;
    return child;
  }

  async kill(): Promise<void> {
    const child = this.child!;
    child.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal, `writer ${this.prefix} died on its own:\n${child.stderr()}`).toBe('SIGKILL');
  }
}

function parseUser(e: SessionEntry): { prefix: string; i: number } {
  const m = /^(.*)-(\d+)$/.exec(e.content);
  expect(m, `unexpected user entry ${e.content}`).not.toBeNull();
  return { prefix: m![1]!, i: Number(m![2]) };
}

/**
 * Check what a fresh store loads. With maxMessages ≥ everything ever committed, every
 * acknowledged turn must be there; otherwise the served window is checked.
 */
async function verify(dir: string, session: string, writers: Writer[], maxMessages: number): Promise<SessionEntry[]> {
  const warnings: string[] = [];
  const store = new FileSessionStore({ dir, maxMessages, logger: { warn: (m) => warnings.push(m) } });
  const info = await store.getSession(session);
  const entries = await store.getEntries(session);
  const anyAck = writers.some((w) => w.lastAck >= 0);
  if (anyAck) {
    expect(info, 'session vanished after a kill').not.toBeNull();
    expect(entries.length, 'session loaded empty after a kill').toBeGreaterThan(0);
  }
  if (entries.length === 0) return entries;
  const last = info!.lastCursor;
  // Cursors: contiguous, strictly increasing, ending at lastCursor, window as large as it may be.
  expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: entries.length }, (_, k) => last - entries.length + 1 + k));
  expect(entries.length).toBe(Math.min(maxMessages, last));
  // Every turn is a whole user+assistant pair at (odd, even) cursors: commits are atomic.
  const byWriter = new Map(writers.map((w) => [w.prefix, w]));
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.cursor % 2 === 0) continue;
    expect(e.role).toBe('user');
    const { prefix, i } = parseUser(e);
    const reply = entries.find((x) => x.cursor === e.cursor + 1);
    if (reply) expect([reply.role, reply.content]).toEqual(['assistant', `re ${e.content}`]);
    expect(seen.has(e.content), `${e.content} stored twice`).toBe(false);
    seen.add(e.content);
    const w = byWriter.get(prefix)!;
    expect(w, `entry from unknown writer ${prefix}`).toBeDefined();
    // Stored ⇒ acknowledged with this very cursor, or the one commit that was in flight.
    if (w.acked.has(i)) expect(w.acked.get(i)).toBe(e.cursor);
    else expect(i).toBe(w.next);
  }
  // Acknowledged ⇒ stored (when it is inside the served window).
  const first = entries[0]!.cursor;
  for (const w of writers) {
    for (const [i, cursor] of w.acked) {
      expect(cursor).toBeLessThanOrEqual(last);
      if (cursor >= first) expect(seen.has(`${w.prefix}-${i}`), `acknowledged ${w.prefix}-${i} (cursor ${cursor}) lost`).toBe(true);
    }
  }
  expect(warnings.filter((w) => !/unfinished write|header damaged/.test(w))).toEqual([]);
  return entries;
}

async function killRounds(rounds: number, maxMessages: number, killWindowMs: [number, number]): Promise<Writer> {
  const dir = await tmp.make('bothost-crash-');
  const w = new Writer('w');
  let roundsWithAcks = 0;
  for (let r = 0; r < rounds; r++) {
    const before = w.lastAck;
    const child = w.start(dir, 'crash', maxMessages);
    await child.waitFor((l) => l === 'ready');
    await sleep(randomInt(...killWindowMs));
    await w.kill();
    if (w.lastAck > before) roundsWithAcks++;
    await verify(dir, 'crash', [w], maxMessages);
  }
  // The kills landed while writing, not only between runs.
  expect(roundsWithAcks).toBeGreaterThan(rounds / 2);
  const store = new FileSessionStore({ dir, maxMessages });
  expect((await store.listSessions()).map((s) => s.id)).toEqual(['crash']);
  return w;
}

describe('FileSessionStore under kill -9', () => {
  it('a writer SIGKILLed at random moments (20 rounds) never loses or duplicates an acknowledged turn', async () => {
    const w = await killRounds(20, FULL, [20, 220]);
    expect(w.lastAck).toBeGreaterThan(50);
  });

  it('kills during compaction (maxMessages 8, 12 rounds): the session always loads, never partial, never empty', async () => {
    const w = await killRounds(12, 8, [30, 200]);
    // Enough commits happened for many compactions to have run under the kills.
    expect(w.lastAck).toBeGreaterThan(100);
  });

  it('4 writers on one session with random kills and restarts: every acknowledged turn exactly once, per-writer order', async () => {
    const dir = await tmp.make('bothost-crash4-');
    const writers = ['a', 'b', 'c', 'd'].map((p) => new Writer(p));
    for (const w of writers) w.start(dir, 'multi', FULL);
    await Promise.all(writers.map((w) => w.child!.waitFor((l) => l === 'ready')));
    const KILLS = 14;
    for (let kills = 0; kills < KILLS; kills++) {
      await sleep(randomInt(60, 250));
      const w = writers[randomInt(0, writers.length - 1)]!;
      await w.kill();
      // Read while the other three keep writing: the killed writer's acks must all be there.
      const entries = await new FileSessionStore({ dir, maxMessages: FULL }).getEntries('multi');
      const contents = new Set(entries.map((e) => e.content));
      for (const i of w.acked.keys()) expect(contents.has(`${w.prefix}-${i}`), `${w.prefix}-${i} lost`).toBe(true);
      w.start(dir, 'multi', FULL);
      await w.child!.waitFor((l) => l === 'ready');
    }
    await Promise.all(writers.map((w) => w.kill()));

    const entries = await verify(dir, 'multi', writers, FULL);
    const total = writers.reduce((n, w) => n + w.acked.size, 0);
    const userEntries = entries.filter((e) => e.role === 'user');
    // Exactly the acknowledged turns, plus at most one in-flight turn per writer.
    expect(userEntries.length).toBeGreaterThanOrEqual(total);
    expect(userEntries.length).toBeLessThanOrEqual(total + writers.length);
    for (const w of writers) {
      expect(w.lastAck).toBeGreaterThan(5);
      const mine = userEntries.map(parseUser).filter((u) => u.prefix === w.prefix).map((u) => u.i);
      // Per-writer order: i increases with the cursor, with no gap.
      expect(mine).toEqual(Array.from({ length: mine.length }, (_, k) => k));
    }
    // The writers really interleaved in the log.
    let switches = 0;
    for (let k = 1; k < userEntries.length; k++) if (parseUser(userEntries[k]!).prefix !== parseUser(userEntries[k - 1]!).prefix) switches++;
    expect(switches).toBeGreaterThan(20);
  });
});
