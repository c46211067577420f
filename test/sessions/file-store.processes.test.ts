/**
 * FileSessionStore across real OS processes (children run the compiled store from dist/):
 * many writers on one session (T15, CI size), the cross-process lock, and a real "disk full"
 * (RLIMIT_FSIZE) in a writer process (T17).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LockTimeoutError } from '../../src/core/errors.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { createProcessLock } from '../../src/sessions/process-lock.js';
import { assertDistFresh, killAllChildren, spawnStoreChild, type StoreChild } from '../helpers/store-children.js';
import { TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(() => assertDistFresh());
afterEach(async () => {
  await killAllChildren();
  await tmp.removeAll();
});

async function expectExit0(child: StoreChild): Promise<void> {
  const exit = await child.exited;
  expect(exit, `child ${child.pid} stderr:\n${child.stderr()}`).toEqual({ code: 0, signal: null });
}

describe('FileSessionStore with many writer processes (T15, CI size)', () => {
  it('8 processes × 200 appends to one session: 1600 stored, no duplicates, per-process order, cursors 1..1600', async () => {
    const dir = await tmp.make();
    const PROCS = 8;
    const PER = 200;
    const children = range(0, PROCS - 1).map((p) =>
      spawnStoreChild('append', { dir, session: 'hot', count: PER, tag: `p${p}`, maxMessages: 5000 }),
    );
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'ready')));
    const t0 = Date.now();
    for (const c of children) c.send('go');
    await Promise.all(children.map(expectExit0));
    const elapsed = Date.now() - t0;
    for (const c of children) expect(c.lines).toContain('done');

    const warnings: string[] = [];
    const store = new FileSessionStore({ dir, maxMessages: 5000, logger: { warn: (m) => warnings.push(m) } });
    const entries = await store.getEntries('hot');
    expect(entries).toHaveLength(PROCS * PER);
    expect(entries.map((e) => e.cursor)).toEqual(range(1, PROCS * PER));
    expect(new Set(entries.map((e) => e.content)).size).toBe(PROCS * PER);
    for (let p = 0; p < PROCS; p++) {
      const mine = entries.filter((e) => e.content.startsWith(`p${p}-`)).map((e) => e.content);
      expect(mine).toEqual(range(0, PER - 1).map((i) => `p${p}-${i}`));
    }
    expect(await store.getSession('hot')).toMatchObject({ messageCount: PROCS * PER, lastCursor: PROCS * PER });
    expect(warnings).toEqual([]);
    // The writers really interleaved (run one after another, this would prove nothing about locking).
    let switches = 0;
    for (let k = 1; k < entries.length; k++) if (entries[k]!.content.split('-')[0] !== entries[k - 1]!.content.split('-')[0]) switches++;
    expect(switches).toBeGreaterThan(50);
    expect(elapsed).toBeLessThan(30_000);
  });
});

describe('the cross-process lock', () => {
  it('two or more processes are never inside the critical section at once', async () => {
    const dir = await tmp.make();
    const log = path.join(dir, 'critical.log');
    const lockName = path.join(dir, 'session.jsonl');
    const PROCS = 4;
    const ITER = 100;
    const children = range(0, PROCS - 1).map((id) => spawnStoreChild('critical', { lockName, log, iterations: ITER, id }));
    await Promise.all(children.map(expectExit0));
    const lines = (await fsp.readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(PROCS * ITER * 2);
    const switches = new Set<string>();
    for (let k = 0; k < lines.length; k += 2) {
      const [enter, id, i] = lines[k]!.split(' ');
      expect(enter).toBe('enter');
      // The very next line must be the same holder leaving: nobody else got in meanwhile.
      expect(lines[k + 1]).toBe(`exit ${id} ${i}`);
      if (k > 0) switches.add(`${lines[k - 1]!.split(' ')[1]}->${id}`);
    }
    // The processes really contended (the lock was handed between them many times).
    expect([...switches].filter((s) => s.split('->')[0] !== s.split('->')[1]).length).toBeGreaterThan(2);
  });

  it('a lock held by a SIGKILLed process is free at once', async () => {
    const dir = await tmp.make();
    const lockName = path.join(dir, 's.jsonl');
    const holder = spawnStoreChild('hold-lock', { lockName });
    await holder.waitFor((l) => l === 'locked');
    const lock = createProcessLock();
    const err = await lock.acquire(lockName, 200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'LOCK_TIMEOUT' });

    holder.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    const t0 = Date.now();
    const release = await lock.acquire(lockName, 500);
    expect(Date.now() - t0).toBeLessThan(500);
    await release();
  });

  it('a store waiting on a dead writer’s lock times out cleanly while it lives and proceeds once it is killed', async () => {
    const dir = await tmp.make();
    const store = new FileSessionStore({ dir, lockTimeoutMs: 300 });
    await store.addMessage('s', 'user', 'before');
    const holder = spawnStoreChild('hold-lock', { lockName: store.fileFor('s') });
    await holder.waitFor((l) => l === 'locked');
    await expect(store.addMessage('s', 'user', 'blocked')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    // Reads do not need the lock.
    expect(await store.getChatHistory('s')).toEqual([{ role: 'user', content: 'before' }]);

    holder.kill('SIGKILL');
    await holder.exited;
    const t0 = Date.now();
    expect(await store.addMessage('s', 'user', 'after')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(500);
    expect((await store.getEntries('s')).map((e) => [e.cursor, e.content])).toEqual([
      [1, 'before'],
      [2, 'after'],
    ]);
  });
});

describe('FileSessionStore when a writer process hits a full disk (T17, RLIMIT_FSIZE)', () => {
  it('the failing append rejects with STORE_FAILED, every acknowledged one is kept whole, and writes recover', async () => {
    const dir = await tmp.make();
    const seedStore = new FileSessionStore({ dir, maxMessages: 10_000 });
    for (let i = 0; i < 10; i++) await seedStore.addMessage('s', 'user', `seed-${i} ${'y'.repeat(500)}`);
    const file = seedStore.fileFor('s');
    const seededSize = (await fsp.stat(file)).size;

    // 64 blocks is 32 KiB (sh counts 512-byte blocks) or 64 KiB (1 KiB blocks): a few dozen more records.
    const child = spawnStoreChild('fill', { dir, session: 's', maxMessages: 10_000, size: 557, maxAppends: 1000 }, { fileSizeLimitBlocks: 64 });
    await expectExit0(child);
    const acks = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.split(' ')[1]));
    const errorLine = child.lines.find((l) => l.startsWith('error '));
    expect(errorLine, `no write failed; last lines: ${child.lines.slice(-3).join(' | ')}`).toBeDefined();
    const error = JSON.parse(errorLine!.slice('error '.length)) as { i: number; name: string; code: string; message: string };
    expect(acks.length).toBeGreaterThan(5);
    expect(acks).toEqual(range(0, acks.length - 1));
    expect(error).toMatchObject({ i: acks.length, name: 'StoreError', code: 'STORE_FAILED' });
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/could not write session file .*(EFBIG|too large)/i);
    // The child itself could still read everything it had been told was stored.
    expect(child.lines).toContain(`history ${10 + acks.length}`);

    const size = (await fsp.stat(file)).size;
    expect(size).toBeGreaterThan(seededSize);
    expect(size).toBeLessThanOrEqual(64 * 1024);
    const text = await fsp.readFile(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

    // Space returns (no limit in this process): a fresh store sees exactly the acknowledged state and appends.
    const warnings: string[] = [];
    const store = new FileSessionStore({ dir, maxMessages: 10_000, logger: { warn: (m) => warnings.push(m) } });
    const history = (await store.getChatHistory('s')).map((m) => m.content.split(' ')[0]);
    expect(history).toEqual([...range(0, 9).map((i) => `seed-${i}`), ...acks.map((i) => `fill-${i}`)]);
    expect(await store.addMessage('s', 'user', 'recovered')).toBe(true);
    const entries = await store.getEntries('s');
    expect(entries.map((e) => e.cursor)).toEqual(range(1, 10 + acks.length + 1));
    expect(entries.at(-1)!.content).toBe('recovered');
    expect(warnings).toEqual([]);
  });
});
