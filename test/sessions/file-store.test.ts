/**
 * FileSessionStore: the shared contract plus what only a file store has to prove — persistence
 * across instances, bounded files, repair of torn/corrupt files, id safety on a real file
 * system (T28) and clean failures when the disk refuses writes (T17). Multi-process and
 * kill -9 tests live in file-store.processes.test.ts and file-store.crash.test.ts.
 */
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { FileSessionStore, type FileSessionStoreOptions } from '../../src/sessions/file-session-store.js';
import { sessionStoreContract } from '../contract/session-store.contract.js';
import { openContractFileStore } from '../helpers/file-store-fixture.js';
import { listRecursive, TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();

sessionStoreContract('FileSessionStore', ({ maxMessages }) => openContractFileStore(tmp, 'bothost-contract-', maxMessages));

interface Opened {
  store: FileSessionStore;
  warnings: string[];
}

function openStore(dir: string, options: Omit<FileSessionStoreOptions, 'dir' | 'logger'> = {}): Opened {
  const warnings: string[] = [];
  const store = new FileSessionStore({ dir, ...options, logger: { warn: (m) => warnings.push(m) } });
  return { store, warnings };
}

async function fileLines(file: string): Promise<string[]> {
  const text = await fsp.readFile(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** Every line of the file is a JSON object: nothing torn or corrupt is left behind. */
async function expectCleanFile(file: string): Promise<string[]> {
  const lines = await fileLines(file);
  for (const line of lines) expect(() => JSON.parse(line), line.slice(0, 80)).not.toThrow();
  expect(JSON.parse(lines[0]!).t).toBe('h');
  return lines;
}

const contents = async (store: FileSessionStore, id: string) => (await store.getChatHistory(id)).map((m) => m.content);
const cursors = async (store: FileSessionStore, id: string) => (await store.getEntries(id)).map((e) => e.cursor);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

afterEach(async () => {
  vi.restoreAllMocks();
  await tmp.removeAll();
});

describe('FileSessionStore persistence', () => {
  it('a new instance on the same dir sees everything: history, cursors, metadata, ids, fences', async () => {
    const dir = await tmp.make();
    const a = openStore(dir, { maxMessages: 50 }).store;
    await a.updateMetadata('s', { user: 'ann', lang: 'en' });
    await a.commitTurn('s', { inboundId: 'in-1', fence: 4, entries: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });
    await a.addMessage('s', 'user', 'more', { mid: 9 });
    await a.clearSession('s');
    await a.addMessage('s', 'user', 'after clear');
    await a.addMessage('other', 'user', 'x');
    await a.close();

    const { store: b, warnings } = openStore(dir, { maxMessages: 50 });
    expect(await b.sessionExists('s')).toBe(true);
    expect(await contents(b, 's')).toEqual(['after clear']);
    expect(await cursors(b, 's')).toEqual([4]);
    expect(await b.getSession('s')).toMatchObject({ id: 's', lastCursor: 4, messageCount: 1, metadata: { user: 'ann', lang: 'en' } });
    // Cursor continuation, dedupe of ids and fences committed by the old instance.
    expect(await b.findCommitted('s', 'in-1')).toBe(1);
    expect(await b.commitTurn('s', { inboundId: 'in-1', entries: [{ role: 'user', content: 'hi' }] })).toEqual({ status: 'duplicate', cursor: 1 });
    expect(await b.commitTurn('s', { fence: 3, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 4 });
    expect(await b.commitTurn('s', { inboundId: 'in-2', entries: [{ role: 'user', content: 'next' }] })).toEqual({ status: 'committed', cursors: [5] });
    expect((await b.listSessions()).map((i) => i.id).sort()).toEqual(['other', 's']);
    expect(warnings).toEqual([]);
  });

  it('ids and fences survive compaction and are seen by a new instance', async () => {
    const dir = await tmp.make();
    const a = openStore(dir, { maxMessages: 5, durable: false }).store;
    for (let i = 0; i < 120; i++) await a.commitTurn('s', { inboundId: `m${i}`, fence: 10 + i, entries: [{ role: 'user', content: `m${i}` }] });
    const lines = await expectCleanFile(a.fileFor('s'));
    expect(lines.length).toBeLessThan(60); // it was compacted
    const b = openStore(dir, { maxMessages: 5 }).store;
    expect(await b.commitTurn('s', { inboundId: 'm3', entries: [{ role: 'user', content: 'again' }] })).toEqual({ status: 'duplicate', cursor: 4 });
    expect(await b.commitTurn('s', { fence: 128, entries: [{ role: 'user', content: 'old' }] })).toEqual({ status: 'stale_fence', highestFence: 129 });
    expect(await cursors(b, 's')).toEqual(range(116, 120));
    expect(await b.addMessage('s', 'user', 'x')).toBe(true);
    expect(await cursors(b, 's')).toEqual(range(117, 121));
  });

  it('a cached instance notices when another instance replaced the file (even if the inode number is reused)', async () => {
    const dir = await tmp.make();
    const { store: a } = openStore(dir);
    const { store: b } = openStore(dir);
    for (let i = 0; i < 3; i++) await a.addMessage('s', 'user', `a${i}`);
    await a.updateMetadata('s', { v: 'old' });
    const file = a.fileFor('s');
    const cached = await fsp.stat(file);
    // b rewrites the file until the file system hands out a's old inode number again (ext4 does).
    await b.updateMetadata('s', { v: 'new' });
    for (let i = 0; i < 6; i++) {
      await b.clearSession('s');
      if ((await fsp.stat(file)).ino === cached.ino) break;
    }
    let n = 0;
    while ((await fsp.stat(file)).size <= cached.size) await b.commitTurn('s', { inboundId: `b-${n}`, entries: [{ role: 'user', content: `b${n++}` }] });
    const truth = await b.getSession('s');
    expect(truth!.metadata).toEqual({ v: 'new' });
    expect(await a.getSession('s')).toEqual(truth);
    expect(await a.findCommitted('s', 'b-0')).toBe(truth!.lastCursor - n + 1);
    expect(await a.commitTurn('s', { inboundId: 'b-0', entries: [{ role: 'user', content: 'redelivered' }] })).toMatchObject({ status: 'duplicate' });
    expect(await a.addMessage('s', 'user', 'from a')).toBe(true);
    expect(await contents(b, 's')).toEqual([...range(0, n - 1).map((i) => `b${i}`), 'from a']);
    expect((await b.getSession('s'))!.lastCursor).toBe(truth!.lastCursor + 1);
  });

  it('two instances in one process writing one session interleave without losing or reusing cursors', async () => {
    const dir = await tmp.make();
    const a = openStore(dir, { maxMessages: 1000 }).store;
    const b = openStore(dir, { maxMessages: 1000 }).store;
    await Promise.all(range(0, 99).flatMap((i) => [a.addMessage('s', 'user', `a${i}`), b.addMessage('s', 'user', `b${i}`)]));
    const entries = await a.getEntries('s');
    expect(entries.map((e) => e.cursor)).toEqual(range(1, 200));
    for (const tag of ['a', 'b']) {
      expect(entries.filter((e) => e.content.startsWith(tag)).map((e) => e.content)).toEqual(range(0, 99).map((i) => `${tag}${i}`));
    }
  });
});

describe('FileSessionStore keeps bounded files', () => {
  it('5000 appends with maxMessages 100 never grow the file past ~150 records', async () => {
    const dir = await tmp.make();
    const { store } = openStore(dir, { maxMessages: 100, durable: false });
    const file = store.fileFor('s');
    let maxSize = 0;
    for (let i = 1; i <= 5000; i++) {
      await store.addMessage('s', 'user', `message-${String(i).padStart(5, '0')}`);
      maxSize = Math.max(maxSize, (await fsp.stat(file)).size);
    }
    const lines = await expectCleanFile(file);
    const recordBytes = Math.max(...lines.slice(1).map((l) => Buffer.byteLength(l) + 1));
    const headerBytes = Buffer.byteLength(lines[0]!) + 1;
    expect(maxSize).toBeLessThanOrEqual(headerBytes + 152 * recordBytes);
    expect(maxSize).toBeGreaterThanOrEqual(100 * recordBytes); // sanity: the bound is not trivially met
    expect(lines.length).toBeLessThanOrEqual(152);
    expect(await cursors(store, 's')).toEqual(range(4901, 5000));
    expect(await store.getSession('s')).toMatchObject({ messageCount: 100, lastCursor: 5000 });
  });

  it('metadata updates do not grow the file forever either', async () => {
    const dir = await tmp.make();
    const { store } = openStore(dir, { maxMessages: 100, durable: false });
    const file = store.fileFor('s');
    let maxSize = 0;
    for (let i = 0; i < 3000; i++) {
      if (i % 10 === 0) await store.addMessage('s', 'user', `m${i}`);
      await store.updateMetadata('s', { lastSeen: 1_700_000_000_000 + i, counter: i });
      maxSize = Math.max(maxSize, (await fsp.stat(file)).size);
    }
    const lines = await expectCleanFile(file);
    const recordBytes = Math.max(...lines.slice(1).map((l) => Buffer.byteLength(l) + 1));
    expect(maxSize).toBeLessThanOrEqual(Buffer.byteLength(lines[0]!) + 1 + 152 * recordBytes);
    expect(await store.getSession('s')).toMatchObject({ metadata: { lastSeen: 1_700_000_002_999, counter: 2999 }, messageCount: 100, lastCursor: 300 });
    const fresh = openStore(dir, { maxMessages: 100 }).store;
    expect((await fresh.getSession('s'))!.metadata).toEqual({ lastSeen: 1_700_000_002_999, counter: 2999 });
  });
});

describe('FileSessionStore repairs damaged files', () => {
  async function seed(dir: string, n: number): Promise<string> {
    const { store } = openStore(dir);
    await store.updateMetadata('s', { name: 'ann' });
    for (let i = 1; i <= n; i++) await store.addMessage('s', 'user', `m${i}`);
    return store.fileFor('s');
  }

  it('a torn tail (writer killed mid-write) is ignored by reads and cut off by the next write', async () => {
    const dir = await tmp.make();
    const writer = openStore(dir);
    for (let i = 1; i <= 3; i++) await writer.store.addMessage('s', 'user', `m${i}`);
    const file = writer.store.fileFor('s');
    const torn = '{"t":"c","c":4,"ts":1,"e":[{"r":"user","m":"half a rec';
    await fsp.appendFile(file, torn);

    const { store, warnings } = openStore(dir);
    expect(await contents(store, 's')).toEqual(['m1', 'm2', 'm3']);
    expect(await cursors(store, 's')).toEqual([1, 2, 3]);
    expect(await store.getSession('s')).toMatchObject({ lastCursor: 3, messageCount: 3 });
    expect(warnings).toEqual([]); // readers never modify the file
    expect((await fsp.readFile(file, 'utf8')).endsWith(torn)).toBe(true);

    expect(await store.commitTurn('s', { entries: [{ role: 'user', content: 'm4' }] })).toEqual({ status: 'committed', cursors: [4] });
    expect(warnings.some((w) => /unfinished write/.test(w) && w.includes(file))).toBe(true);
    const lines = await expectCleanFile(file);
    expect(lines).toHaveLength(5);
    expect(await contents(store, 's')).toEqual(['m1', 'm2', 'm3', 'm4']);

    // The instance that wrote before the damage (with cached state) repairs it too.
    await fsp.appendFile(file, '{"t":"c","c":5');
    expect(await writer.store.addMessage('s', 'user', 'm5')).toBe(true);
    expect(writer.warnings.some((w) => /unfinished write/.test(w))).toBe(true);
    await expectCleanFile(file);
    const fresh = openStore(dir);
    expect(await contents(fresh.store, 's')).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(await cursors(fresh.store, 's')).toEqual([1, 2, 3, 4, 5]);
    expect(fresh.warnings).toEqual([]);
  });

  const damagedLines: Array<[string, string]> = [
    ['plain garbage', 'this is not json'],
    ['a truncated record', '{"t":"c","c":2,"ts":1,"e":[{"r":"us'],
    ['zeroed bytes', '\u0000'.repeat(48)],
    ['a JSON array', '[1,2,3]'],
    ['an unknown record type', '{"t":"zz","c":2}'],
    ['a commit with a null entry', '{"t":"c","c":2,"ts":1,"e":[null]}'],
    ['a commit with mistyped fields', '{"t":"c","c":2,"ts":1,"e":[{"r":5,"m":{"x":1}}]}'],
    ['a commit with a non-integer cursor', '{"t":"c","c":"2","ts":1,"e":[{"r":"user","m":"x"}]}'],
    ['a metadata record with null meta', '{"t":"m","ts":1,"meta":null}'],
  ];
  for (const [what, damage] of damagedLines) {
    it(`a corrupt middle line (${what}) is skipped with a warning; every other record is kept`, async () => {
      const dir = await tmp.make();
      const file = await seed(dir, 5);
      const lines = await fileLines(file);
      // lines: header, meta, m1..m5 — damage m2.
      expect(JSON.parse(lines[3]!).e[0].m).toBe('m2');
      lines[3] = damage;
      await fsp.writeFile(file, `${lines.join('\n')}\n`);

      const { store, warnings } = openStore(dir);
      expect(await contents(store, 's')).toEqual(['m1', 'm3', 'm4', 'm5']);
      expect(await store.getSession('s')).toMatchObject({ lastCursor: 5, metadata: { name: 'ann' } });
      expect(await store.addMessage('s', 'user', 'm6')).toBe(true);
      expect(warnings.some((w) => /damaged line/.test(w))).toBe(true);
      expect(await contents(store, 's')).toEqual(['m1', 'm3', 'm4', 'm5', 'm6']);
      expect(await cursors(store, 's')).toEqual([1, 3, 4, 5, 6]);
      await expectCleanFile(file);
      const fresh = openStore(dir);
      expect(await contents(fresh.store, 's')).toEqual(['m1', 'm3', 'm4', 'm5', 'm6']);
      expect((await fresh.store.getSession('s'))!.metadata).toEqual({ name: 'ann' });
      expect(fresh.warnings).toEqual([]);
    });
  }

  it('a damaged header line is rebuilt with a warning and the messages are kept', async () => {
    const dir = await tmp.make();
    const file = await seed(dir, 3);
    const fh = await fsp.open(file, 'r+');
    await fh.write(Buffer.from('#CORRUPT#'), 0, 9, 0);
    await fh.close();

    const { store, warnings } = openStore(dir);
    expect(await contents(store, 's')).toEqual(['m1', 'm2', 'm3']);
    expect(await store.getSession('s')).toMatchObject({ id: 's', lastCursor: 3, messageCount: 3, metadata: { name: 'ann' } });
    expect(warnings.some((w) => /header damaged/.test(w))).toBe(true);
    expect(await store.commitTurn('s', { entries: [{ role: 'user', content: 'm4' }] })).toEqual({ status: 'committed', cursors: [4] });
    const lines = await expectCleanFile(file);
    expect(JSON.parse(lines[0]!)).toMatchObject({ t: 'h', id: 's' });
    const fresh = openStore(dir);
    expect(await contents(fresh.store, 's')).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect((await fresh.store.listSessions()).map((i) => i.id)).toEqual(['s']);
    expect(fresh.warnings).toEqual([]);
  });
});

/** T28 (CI size): hostile ids generated from the classic path tricks, plus random mixes of them. */
function hostileIds(count: number, parent: string): string[] {
  let seed = 0x2f6e2b1;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const parts = ['..', '.', '/', '\\', '%2e', '%2E', '%2f', '%5c', '%252e', '%00', '\u0000', ':', 'C:', '::$DATA', '~', '$', '*', '?', '"', '<', '>', '|', ' ', '\n', '\t', '．', '／', '\u2024', '\u202e', '🙂', 'é', 'e\u0301', 'A', 'a', 'CON', 'nul', 'COM1', 'LPT9', '.jsonl', '.tmp', '.lock'];
  const ids = new Set<string>([
    '../x', '../../etc/passwd', '/etc/passwd', '/etc/shadow', 'a/../../b', '\u0000', '%2e%2e%2f', '%2e%2e%2fescape', '..%2f..%2fescape', ':', 'CON', 'con', 'PRN', 'AUX', 'NUL', 'NUL.txt', 'CLOCK$', 'x'.repeat(1024), '../'.repeat(341), `${parent}/escaped`, `${parent}/store/../escaped`, '/tmp/bothost-t28-escaped', '.', '..', 'store', '.store.jsonl.tmp',
  ]);
  for (const dev of ['CON', 'PRN', 'AUX', 'NUL', ...range(0, 9).flatMap((d) => [`COM${d}`, `LPT${d}`])]) {
    for (const v of [dev, dev.toLowerCase(), `${dev}.txt`, `${dev}:`, `${dev} `]) ids.add(v);
  }
  let i = 0;
  while (ids.size < count) {
    const kind = i++ % 6;
    if (kind === 0) ids.add(`${'../'.repeat(1 + rand(8))}escape-${i}`);
    else if (kind === 1) ids.add(`${parent}/abs-${i}`);
    else if (kind === 2) ids.add(`${'%2e%2e%2f'.repeat(1 + rand(5))}enc-${i}`);
    else if (kind === 3) ids.add(`${'z'.repeat(900 + rand(120))}${i}`.slice(0, 1024));
    else ids.add(Array.from({ length: 1 + rand(12) }, () => parts[rand(parts.length)]).join('') + (kind === 4 ? '' : i));
  }
  return [...ids];
}

describe('FileSessionStore id safety (T28, CI size)', () => {
  it('2000 hostile ids create files only inside the store dir and each reads back its own content', async () => {
    const parent = await tmp.make('bothost-t28-');
    const dir = path.join(parent, 'store');
    const ids = hostileIds(2000, parent);
    expect(ids.length).toBe(2000);
    const { store, warnings } = openStore(dir, { durable: false });
    for (const [i, id] of ids.entries()) expect(await store.addMessage(id, 'user', `content-${i}`)).toBe(true);

    const all = await listRecursive(parent);
    expect(all[0]).toBe('store');
    const files = all.slice(1);
    expect(files).toHaveLength(ids.length);
    for (const f of files) {
      expect(path.dirname(f)).toBe('store');
      expect(f).toMatch(/^store\/[a-z0-9_%~A-F-]+\.jsonl$/);
      expect(Buffer.byteLength(path.basename(f))).toBeLessThanOrEqual(255);
    }
    await expect(fsp.access('/tmp/bothost-t28-escaped')).rejects.toThrow();
    await expect(fsp.access('/tmp/bothost-t28-escaped.jsonl')).rejects.toThrow();

    for (const [i, id] of ids.entries()) {
      expect(await store.getChatHistory(id)).toEqual([{ role: 'user', content: `content-${i}` }]);
      expect((await store.getSession(id))!.id).toBe(id);
    }
    expect((await store.listSessions({ limit: 5000 })).map((s) => s.id).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await store.deleteSession(id)).toBe(true);
    expect(await listRecursive(parent)).toEqual(['store']);
    expect(warnings).toEqual([]);
  });
});

function errnoError(code: string, syscall: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: simulated failure, ${syscall}`);
  err.code = code;
  err.syscall = syscall;
  return err;
}

async function fileHandlePrototype(dir: string): Promise<Record<string, (...args: unknown[]) => Promise<unknown>>> {
  const probe = path.join(dir, 'probe');
  await fsp.writeFile(probe, '');
  const fh = await fsp.open(probe, 'r');
  const proto = Object.getPrototypeOf(fh);
  await fh.close();
  await fsp.rm(probe);
  return proto;
}

describe('FileSessionStore when the disk refuses writes (T17, in process)', () => {
  it('a store dir under a regular file (ENOTDIR) rejects writes with a clear StoreError', async () => {
    const parent = await tmp.make();
    await fsp.writeFile(path.join(parent, 'not-a-dir'), 'x');
    const dir = path.join(parent, 'not-a-dir', 'sessions');
    const { store } = openStore(dir);
    const err = await store.addMessage('s', 'user', 'hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'STORE_FAILED' });
    expect((err as Error).message).toContain(dir);
    await expect(store.updateMetadata('s', { a: 1 })).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(await store.sessionExists('s')).toBe(false);
  });

  it('ENOSPC on fsync: the append rejects, the previous state stays readable, and it recovers', async () => {
    const dir = await tmp.make();
    const { store } = openStore(dir);
    for (let i = 1; i <= 3; i++) await store.addMessage('s', 'user', `m${i}`);
    const file = store.fileFor('s');
    const before = await fsp.readFile(file);
    const proto = await fileHandlePrototype(dir);
    vi.spyOn(proto, 'datasync').mockRejectedValueOnce(errnoError('ENOSPC', 'fdatasync'));

    const err = await store.addMessage('s', 'user', 'lost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'STORE_FAILED' });
    expect((err as Error).message).toMatch(/could not write session file .*ENOSPC/);
    expect(await fsp.readFile(file)).toEqual(before);
    expect(await contents(openStore(dir).store, 's')).toEqual(['m1', 'm2', 'm3']);

    expect(await store.addMessage('s', 'user', 'm4')).toBe(true);
    expect(await cursors(store, 's')).toEqual([1, 2, 3, 4]);
    expect(await contents(openStore(dir).store, 's')).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('a short write then ENOSPC (disk filling up mid-record) is never acknowledged and leaves no torn line', async () => {
    const dir = await tmp.make();
    const { store } = openStore(dir);
    for (let i = 1; i <= 3; i++) await store.addMessage('s', 'user', `m${i}`);
    const file = store.fileFor('s');
    const before = await fsp.readFile(file);
    // The store writes a record under its lock with write(2) called synchronously.
    const realWriteSync = fs.writeSync;
    let diskFullWrites = 0;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: NodeJS.ArrayBufferView, ...rest: number[]) => {
      if (Buffer.isBuffer(buf) && buf.includes('DISKFULL')) {
        // The first write gets half the record onto the disk, then the disk is full.
        if (diskFullWrites++ > 0) throw errnoError('ENOSPC', 'write');
        return realWriteSync(fd, buf.subarray(0, buf.length >> 1));
      }
      return realWriteSync(fd, buf, ...rest);
    }) as typeof fs.writeSync);

    const outcome = await store.addMessage('s', 'user', 'DISKFULL'.repeat(64)).then(
      (ok) => ok,
      (e: unknown) => e,
    );
    vi.restoreAllMocks();
    expect(diskFullWrites).toBeGreaterThan(0);
    expect(outcome).toBeInstanceOf(StoreError);
    expect(outcome).toMatchObject({ code: 'STORE_FAILED' });
    expect(await fsp.readFile(file)).toEqual(before);

    expect(await store.addMessage('s', 'user', 'm4')).toBe(true);
    await expectCleanFile(file);
    expect(await contents(openStore(dir).store, 's')).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(await cursors(store, 's')).toEqual([1, 2, 3, 4]);
  });

  it('an I/O error anywhere in a write (here: opening the file to append) is a StoreError, not a raw errno', async () => {
    const dir = await tmp.make();
    const { store } = openStore(dir);
    await store.addMessage('s', 'user', 'm1');
    const writer = openStore(dir).store; // a new store keeps no open handle: its write opens the file
    const realOpen = fsp.open;
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      if (args[1] !== 'r') throw errnoError('EMFILE', 'open');
      return realOpen(...args);
    });
    const err = await writer.addMessage('s', 'user', 'm2').catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'STORE_FAILED' });
    expect((err as Error).message).toContain(store.fileFor('s'));
    expect((err as Error).message).toContain('EMFILE');
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('EMFILE');
    expect(await contents(store, 's')).toEqual(['m1']);
    expect(await store.addMessage('s', 'user', 'm2')).toBe(true);
    expect(await cursors(store, 's')).toEqual([1, 2]);
  });

  it('a failed compaction does not turn a durable append into a reported failure', async () => {
    const dir = await tmp.make();
    const { store, warnings } = openStore(dir, { maxMessages: 5 });
    for (let i = 1; i <= 55; i++) await store.addMessage('s', 'user', `m${i}`);
    const realOpen = fsp.open;
    vi.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      if (String(args[0]).endsWith('.tmp')) throw errnoError('ENOSPC', 'open');
      return realOpen(...args);
    });
    const outcome = await store.addMessage('s', 'user', 'm56').then(
      (ok) => ok,
      (e: unknown) => e,
    );
    vi.restoreAllMocks();
    const stored = (await contents(openStore(dir, { maxMessages: 5 }).store, 's')).includes('m56');
    // Whatever the store answers must be the truth: acknowledged iff stored.
    expect(stored).toBe(outcome === true);
    expect(outcome).toBe(true);
    expect(warnings.some((w) => /compact/.test(w))).toBe(true);
    // The next write compacts once space is back.
    await store.addMessage('s', 'user', 'm57');
    expect((await fileLines(store.fileFor('s'))).length).toBeLessThanOrEqual(10);
    expect(await contents(store, 's')).toEqual(['m53', 'm54', 'm55', 'm56', 'm57']);
  });
});
