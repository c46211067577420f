/**
 * kill -9 crash safety of the file store (T13/T15, CI size). Writer processes commit
 * user+assistant pairs with inbound ids and print "ack <i> <status> <cursor>" after each commit
 * resolves; the test SIGKILLs them at random moments, restarts them from their last ack (so the
 * commit that was in flight is retried and must be deduplicated), and after every kill checks
 * with a fresh store that every acknowledged turn is there exactly once, whole, in order.
 *
 * Deduplication remembers the last RECENT_INBOUND_IDS inbound ids of a session. With several
 * writers the others may commit that many turns while a killed writer restarts; its retry is
 * then committed a second time, which is the documented limit, not a loss or a reorder. The
 * checks allow exactly that case (told apart by the cursors) and count it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEntry } from '../../src/core/session-store.js';
import { RECENT_INBOUND_IDS } from '../../src/sessions/file-log-reader.js';
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
  /** The first i of every run after a restart: the only commits that may be retries. */
  readonly retried = new Set<number>();
  /** The retries answered `duplicate`. */
  readonly duplicates = new Set<number>();
  child: StoreChild | undefined;
  /**
   * Failed checks in the line handler. Thrown there, they would surface only as an unhandled
   * error after the test passed, and stop the child's line stream; `check()` rethrows them.
   */
  private readonly errors: unknown[] = [];
  constructor(readonly prefix: string) {}

  /** The commit that may have been in flight when the writer was killed. */
  get next(): number {
    return this.lastAck + 1;
  }

  start(dir: string, session: string, maxMessages: number): StoreChild {
    const start = this.next;
    if (this.child) this.retried.add(start);
    const child = spawnStoreChild('crash-writer', { dir, session, maxMessages, prefix: this.prefix, start });
    child.onLine((line) => {
      try {
        expect(this.child, `a line from a replaced writer ${this.prefix}: ${line}`).toBe(child);
        this.onLine(line, start);
      } catch (err) {
        this.errors.push(err);
      }
    });
    this.child = child;
    return child;
  }

  private onLine(line: string, start: number): void {
    const [tag, i, status, cursor] = line.split(' ');
    if (tag !== 'ack') return;
    const n = Number(i);
    expect(n).toBe(this.lastAck + 1);
    expect(['committed', 'duplicate']).toContain(status);
    // Only the first commit after a restart can be a retry of an unacknowledged one.
    if (status === 'duplicate') {
      expect(n).toBe(start);
      expect(this.retried.has(n)).toBe(true);
      this.duplicates.add(n);
    }
    this.acked.set(n, Number(cursor));
    this.lastAck = n;
  }

  check(): void {
    if (this.errors.length > 0) throw this.errors[0];
  }

  async kill(): Promise<void> {
    const child = this.child!;
    child.kill('SIGKILL');
    // 'close': every line the child printed has been handled.
    const exit = await child.exited;
    expect(exit.signal, `writer ${this.prefix} died on its own:\n${child.stderr()}`).toBe('SIGKILL');
    this.check();
  }
}

function parseUser(content: string): { prefix: string; i: number } {
  const m = /^(.*)-(\d+)$/.exec(content);
  expect(m, `unexpected user entry ${content}`).not.toBeNull();
  return { prefix: m![1]!, i: Number(m![2]) };
}

/**
 * Check what a fresh store loads. With maxMessages ≥ everything ever committed, every
 * acknowledged turn must be there; otherwise the served window is checked. Returns the entries
 * and how many second copies of retried turns they hold.
 */
async function verify(dir: string, session: string, writers: Writer[], maxMessages: number): Promise<{ entries: SessionEntry[]; copies: number }> {
  for (const w of writers) w.check();
  const warnings: string[] = [];
  const store = new FileSessionStore({ dir, maxMessages, logger: { warn: (m) => warnings.push(m) } });
  const info = await store.getSession(session);
  const entries = await store.getEntries(session);
  const anyAck = writers.some((w) => w.lastAck >= 0);
  if (anyAck) {
    expect(info, 'session vanished after a kill').not.toBeNull();
    expect(entries.length, 'session loaded empty after a kill').toBeGreaterThan(0);
  }
  if (entries.length === 0) return { entries, copies: 0 };
  const last = info!.lastCursor;
  // Cursors: contiguous, strictly increasing, ending at lastCursor, window as large as it may be.
  expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: entries.length }, (_, k) => last - entries.length + 1 + k));
  expect(entries.length).toBe(Math.min(maxMessages, last));
  // Every turn is a whole user+assistant pair at (odd, even) cursors: commits are atomic.
  const cursorsOf = new Map<string, number[]>();
  for (const e of entries) {
    if (e.cursor % 2 === 0) continue;
    expect(e.role).toBe('user');
    const reply = entries.find((x) => x.cursor === e.cursor + 1);
    if (reply) expect([reply.role, reply.content]).toEqual(['assistant', `re ${e.content}`]);
    cursorsOf.set(e.content, [...(cursorsOf.get(e.content) ?? []), e.cursor]);
  }
  const byWriter = new Map(writers.map((w) => [w.prefix, w]));
  let copies = 0;
  for (const [content, cursors] of cursorsOf) {
    const { prefix, i } = parseUser(content);
    const w = byWriter.get(prefix)!;
    expect(w, `entry from unknown writer ${prefix}`).toBeDefined();
    // A second copy only of a retry sent after the first copy left the inbound-id window:
    // more than RECENT_INBOUND_IDS commits (two entries each) apart.
    for (let k = 1; k < cursors.length; k++) {
      expect(w.retried.has(i), `${content} stored twice (${cursors.join(', ')}) but never retried`).toBe(true);
      const apart = (cursors[k]! - cursors[k - 1]!) / 2;
      expect(apart, `${content} stored twice only ${apart} commits apart (${cursors.join(', ')})`).toBeGreaterThan(RECENT_INBOUND_IDS);
      copies++;
    }
    // Stored ⇒ acknowledged with the cursor of its newest copy, or the one commit that was in flight.
    if (w.acked.has(i)) expect(w.acked.get(i), `${content} stored at ${cursors.join(', ')}`).toBe(cursors.at(-1));
    else expect(i).toBe(w.next);
  }
  // Acknowledged ⇒ stored (when it is inside the served window).
  const first = entries[0]!.cursor;
  for (const w of writers) {
    for (const [i, cursor] of w.acked) {
      expect(cursor).toBeLessThanOrEqual(last);
      if (cursor >= first) expect(cursorsOf.has(`${w.prefix}-${i}`), `acknowledged ${w.prefix}-${i} (cursor ${cursor}) lost`).toBe(true);
    }
  }
  expect(warnings.filter((w) => !/unfinished write|header damaged/.test(w))).toEqual([]);
  return { entries, copies };
}

/** `ids` with only the last copy of each id kept, in order. */
function lastCopies(ids: number[]): number[] {
  const kept = new Set<number>();
  const out: number[] = [];
  for (let k = ids.length - 1; k >= 0; k--) {
    if (kept.has(ids[k]!)) continue;
    kept.add(ids[k]!);
    out.push(ids[k]!);
  }
  return out.reverse();
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
    const { copies } = await verify(dir, 'crash', [w], maxMessages);
    expect(copies, 'a lone writer retries before any other commit, inside the inbound-id window').toBe(0);
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

  it('4 writers on one session with random kills and restarts: every acknowledged turn kept, once unless retried past the inbound-id window, per-writer order', async () => {
    const dir = await tmp.make('bothost-crash4-');
    const writers = ['a', 'b', 'c', 'd'].map((p) => new Writer(p));
    for (const w of writers) w.start(dir, 'multi', FULL);
    await Promise.all(writers.map((w) => w.child!.waitFor((l) => l === 'ready')));
    const KILLS = 14;
    for (let kills = 0; kills < KILLS; kills++) {
      await sleep(randomInt(60, 250));
      const w = writers[randomInt(0, writers.length - 1)]!;
      await w.kill();
      const acked = [...w.acked.keys()];
      // Restart at once and read the log meanwhile: the others keep committing until the retry,
      // and a retry more than RECENT_INBOUND_IDS commits later is stored again.
      w.start(dir, 'multi', FULL);
      const [entries] = await Promise.all([new FileSessionStore({ dir, maxMessages: FULL }).getEntries('multi'), w.child!.waitFor((l) => l === 'ready')]);
      // Read while the other three keep writing: the killed writer's acks must all be there.
      const contents = new Set(entries.map((e) => e.content));
      for (const i of acked) expect(contents.has(`${w.prefix}-${i}`), `${w.prefix}-${i} lost`).toBe(true);
    }
    await Promise.all(writers.map((w) => w.kill()));

    const { entries, copies } = await verify(dir, 'multi', writers, FULL);
    const total = writers.reduce((n, w) => n + w.acked.size, 0);
    const userEntries = entries.filter((e) => e.role === 'user');
    const duplicates = writers.reduce((n, w) => n + w.duplicates.size, 0);
    // How close the deduplicated retries came to the window: commits from the first copy to the writer's next turn.
    const widestGap = Math.max(0, ...writers.flatMap((w) => [...w.duplicates].filter((i) => w.acked.has(i + 1)).map((i) => (w.acked.get(i + 1)! - w.acked.get(i)!) / 2 - 1)));
    console.log(
      `4 writers, ${KILLS} restarts: ${duplicates} retries answered duplicate (at most ${widestGap} commits after the first copy), ` +
        `${copies} stored again past the ${RECENT_INBOUND_IDS}-id window`,
    );
    // Exactly the acknowledged turns and those second copies, plus at most one in-flight turn per writer.
    expect(userEntries.length - copies).toBeGreaterThanOrEqual(total);
    expect(userEntries.length - copies).toBeLessThanOrEqual(total + writers.length);
    const parsed = userEntries.map((e) => parseUser(e.content));
    for (const w of writers) {
      expect(w.lastAck).toBeGreaterThan(5);
      // Per-writer order: i increases with the cursor, with no gap (the earlier copy of a turn stored twice aside).
      const mine = lastCopies(parsed.filter((u) => u.prefix === w.prefix).map((u) => u.i));
      expect(mine).toEqual(Array.from({ length: mine.length }, (_, k) => k));
    }
    // The writers really interleaved in the log.
    let switches = 0;
    for (let k = 1; k < parsed.length; k++) if (parsed[k]!.prefix !== parsed[k - 1]!.prefix) switches++;
    expect(switches).toBeGreaterThan(20);
  });
});
