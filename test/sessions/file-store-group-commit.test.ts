/**
 * FileSessionStore's group commit and kept file handles: the cross-process lock covers only the
 * write, the fdatasync runs after its release (so other writers proceed meanwhile), an append
 * still resolves only after its own fdatasync, a failed fdatasync is withdrawn or reported as
 * "maybe stored", and a kept handle never writes into a file another instance replaced.
 */
import { promises as fsp, readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { IDLE_CLOSE_MS } from '../../src/sessions/file-log-handles.js';
import { sleep, TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();
const stores: FileSessionStore[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await tmp.removeAll();
});

function open(dir: string): FileSessionStore {
  const store = new FileSessionStore({ dir, lockTimeoutMs: 5_000, logger: { warn: () => undefined } });
  stores.push(store);
  return store;
}

async function fileHandlePrototype(dir: string): Promise<{ datasync: () => Promise<void> }> {
  const fh = await fsp.open(`${dir}/probe`, 'w');
  const proto = Object.getPrototypeOf(fh) as { datasync: () => Promise<void> };
  await fh.close();
  await fsp.rm(`${dir}/probe`);
  return proto;
}

/** The next fdatasync waits for `open()`, then fails with `error` or goes through. */
function holdNextDatasync(proto: { datasync: () => Promise<void> }, error?: NodeJS.ErrnoException) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let reached!: () => void;
  const started = new Promise<void>((r) => (reached = r));
  const real = proto.datasync;
  vi.spyOn(proto, 'datasync').mockImplementationOnce(async function (this: unknown) {
    reached();
    await gate;
    if (error) throw error;
    return real.call(this);
  });
  return { started, open };
}

/** Whether `p` settles within `ms` (without waiting longer). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true, () => true), sleep(ms).then(() => false)]);
}

const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: simulated failure, fdatasync'), { code: 'ENOSPC', syscall: 'fdatasync' });
const stored = async (store: FileSessionStore) => (await store.getEntries('s')).map((e) => `${e.cursor}:${e.content}`);

describe('FileSessionStore group commit', () => {
  it('another writer appends while an append waits for its fdatasync; each resolves only after its own sync', async () => {
    const dir = await tmp.make();
    const [a, b] = [open(dir), open(dir)];
    await a.addMessage('s', 'user', 'first');
    const held = holdNextDatasync(await fileHandlePrototype(dir));

    const slow = a.addMessage('s', 'user', 'a-waits-for-sync');
    await held.started;
    // b takes the lock a released after its write, and its own fdatasync goes through.
    expect(await settlesWithin(b.addMessage('s', 'user', 'b-meanwhile'), 4_000)).toBe(true);
    expect(await settlesWithin(slow, 200)).toBe(false); // not acknowledged before its fdatasync
    held.open();
    expect(await slow).toBe(true);
    expect(await stored(open(dir))).toEqual(['1:first', '2:a-waits-for-sync', '3:b-meanwhile']);
  });

  it('a failed fdatasync of the last append is withdrawn: nothing stored, the next append takes its cursor', async () => {
    const dir = await tmp.make();
    const a = open(dir);
    await a.addMessage('s', 'user', 'first');
    const file = a.fileFor('s');
    const before = await fsp.readFile(file);
    const held = holdNextDatasync(await fileHandlePrototype(dir), enospc());
    const failing = a.commitTurn('s', { inboundId: 'in-1', entries: [{ role: 'user', content: 'lost' }] });
    await held.started;
    held.open();
    const err = await failing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/could not write session file .*ENOSPC.*nothing was stored/);
    expect(await fsp.readFile(file)).toEqual(before);
    expect(await a.findCommitted('s', 'in-1')).toBeNull();
    expect(await a.addMessage('s', 'user', 'next')).toBe(true);
    expect(await stored(open(dir))).toEqual(['1:first', '2:next']);
  });

  it('a failed fdatasync with another writer’s append after it is reported as maybe stored; a retry with its inbound id finds it', async () => {
    const dir = await tmp.make();
    const [a, b] = [open(dir), open(dir)];
    await a.addMessage('s', 'user', 'first');
    const held = holdNextDatasync(await fileHandlePrototype(dir), enospc());
    const failing = a.commitTurn('s', { inboundId: 'in-1', entries: [{ role: 'user', content: 'unsure' }] });
    await held.started;
    expect(await b.addMessage('s', 'user', 'after')).toBe(true);
    held.open();
    const err = await failing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/ENOSPC.*not acknowledged but may still reach the disk.*retry with the same inbound id/);
    // Its bytes could not be cut off without b's, which follow them.
    expect(await stored(open(dir))).toEqual(['1:first', '2:unsure', '3:after']);
    expect(await a.commitTurn('s', { inboundId: 'in-1', entries: [{ role: 'user', content: 'unsure' }] })).toEqual({ status: 'duplicate', cursor: 2 });
  });
});

describe('FileSessionStore kept file handles', () => {
  /** How many of this process's descriptors have `file` open. */
  const openCount = (file: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
      } catch {
        return false;
      }
    }).length;

  it('a file another instance replaced (clear) or deleted is reopened, never written through the old handle', async () => {
    const dir = await tmp.make();
    const [a, b] = [open(dir), open(dir)];
    for (const m of ['m1', 'm2', 'm3']) await a.addMessage('s', 'user', m);
    expect(await b.clearSession('s')).toBe(true);
    expect(await a.addMessage('s', 'user', 'after-clear')).toBe(true);
    expect(await stored(b)).toEqual(['4:after-clear']);
    expect(await b.deleteSession('s')).toBe(true);
    expect(await a.addMessage('s', 'user', 'after-delete')).toBe(true);
    expect(await stored(b)).toEqual(['1:after-delete']);
  });

  it('a handle is closed after it idles and by close()', async () => {
    const dir = await tmp.make();
    const a = open(dir);
    await a.addMessage('s', 'user', 'm1');
    const file = a.fileFor('s');
    expect(openCount(file)).toBe(1);
    await sleep(IDLE_CLOSE_MS + 300);
    expect(openCount(file)).toBe(0);
    await a.addMessage('s', 'user', 'm2');
    expect(openCount(file)).toBe(1);
    await a.close();
    expect(openCount(file)).toBe(0);
  });
});
