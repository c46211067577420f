/**
 * The file store's tail-state checkpoint: a fresh process uses it only after verifying it
 * against the file (inode, size, first bytes, hash of the bytes before its end). A stale,
 * corrupt or foreign checkpoint is ignored and the file is scanned instead. To tell "used"
 * from "ignored", the tests slip a metadata key into a checkpoint: only a used checkpoint
 * shows it.
 */
import { promises as fsp } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { checkpointPath } from '../../src/sessions/file-log-checkpoint.js';
import { TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();
afterEach(() => tmp.removeAll());

function openStore(dir: string, maxMessages = 100_000) {
  const warnings: string[] = [];
  return { store: new FileSessionStore({ dir, maxMessages, durable: false, logger: { warn: (m) => warnings.push(m) } }), warnings };
}

/** A session past the checkpoint threshold (~600 messages of 300 bytes); returns its file and last cursor. */
async function seed(dir: string, id = 's'): Promise<{ file: string; last: number }> {
  const { store } = openStore(dir);
  for (let i = 0; i < 300; i++) {
    await store.commitTurn(id, { entries: [{ role: 'user', content: `q${i}`.padEnd(300, '.') }, { role: 'assistant', content: `a${i}`.padEnd(300, '.') }] });
  }
  await store.close(); // waits for checkpoint writes
  return { file: store.fileFor(id), last: 600 };
}

type Checkpoint = { size: number; state: { meta: Record<string, unknown> } };

/** Mark the checkpoint (metadata key `from_checkpoint`), keeping everything it is verified by. */
async function mark(file: string, text?: string): Promise<number> {
  const ck = JSON.parse(text ?? (await fsp.readFile(checkpointPath(file), 'utf8'))) as Checkpoint;
  ck.state.meta = { ...ck.state.meta, from_checkpoint: true };
  await fsp.writeFile(checkpointPath(file), JSON.stringify(ck));
  return ck.size;
}

/** A fresh process: whether it used the checkpoint, and the cursor its first append gets. */
async function fresh(dir: string): Promise<{ used: boolean; cursor: number }> {
  const { store, warnings } = openStore(dir);
  const res = await store.commitTurn('s', { entries: [{ role: 'user', content: 'after' }] });
  const used = (await store.getSession('s'))?.metadata.from_checkpoint === true;
  await store.close();
  expect(warnings).toEqual([]);
  if (res.status !== 'committed') throw new Error(res.status);
  return { used, cursor: res.cursors[0]! };
}

describe('file store checkpoints', () => {
  it('a long session gets a checkpoint, and a fresh process starts from it (reading only what came after)', async () => {
    const dir = await tmp.make('bothost-ckpt-');
    const { file, last } = await seed(dir);
    const size = await mark(file);
    expect(size).toBeGreaterThan(128 * 1024);
    // Appended after the checkpoint by another process: read as the delta, on top of it.
    const { store: other } = openStore(dir);
    await other.addMessage('s', 'user', 'appended later');
    await other.close();
    expect((await fsp.stat(file)).size).toBeGreaterThan(size);
    expect(await fresh(dir)).toEqual({ used: true, cursor: last + 2 });
  });

  it('the real state is served: a fresh process appends and reads like a warm one', async () => {
    const dir = await tmp.make('bothost-ckpt-');
    const { last } = await seed(dir);
    const { store } = openStore(dir);
    expect((await store.getChatHistory('s', 2)).map((m) => m.content.slice(0, 5))).toEqual(['q299.', 'a299.']);
    expect(await store.commitTurn('s', { entries: [{ role: 'user', content: 'x' }] })).toEqual({ status: 'committed', cursors: [last + 1] });
    expect((await store.getSession('s'))?.messageCount).toBe(last + 1);
    await store.close();
  });

  it('is ignored when the bytes it covers changed (same length): the file is scanned instead', async () => {
    const dir = await tmp.make('bothost-ckpt-');
    const { file, last } = await seed(dir);
    const size = await mark(file);
    const fh = await fsp.open(file, 'r+');
    const at = size - 20; // inside the last record it covers: a message's padding
    expect((await fh.read(Buffer.alloc(1), 0, 1, at)).buffer.toString()).toBe('.');
    await fh.write('_', at);
    await fh.close();
    expect(await fresh(dir)).toEqual({ used: false, cursor: last + 1 });
  });

  it('is ignored when it is garbage, truncated or of another version', async () => {
    const dir = await tmp.make('bothost-ckpt-');
    const { file, last } = await seed(dir);
    await mark(file);
    const good = await fsp.readFile(checkpointPath(file), 'utf8');
    let cursor = last;
    for (const bad of ['not json', good.slice(0, good.length / 2), good.replace('"v":1', '"v":99'), '{}']) {
      await fsp.writeFile(checkpointPath(file), bad);
      expect(await fresh(dir)).toEqual({ used: false, cursor: ++cursor });
    }
  });

  it('is ignored after the file was replaced (clear, compaction) even when the new file is longer', async () => {
    const dir = await tmp.make('bothost-ckpt-');
    const { file } = await seed(dir);
    const stale = await fsp.readFile(checkpointPath(file), 'utf8');
    const { store } = openStore(dir);
    await store.clearSession('s'); // a new file version (new generation tag, new inode)
    for (let i = 0; i < 400; i++) await store.addMessage('s', 'user', `r${i}`.padEnd(600, '.'));
    await store.close();
    const size = await mark(file, stale);
    expect((await fsp.stat(file)).size).toBeGreaterThan(size);
    expect(await fresh(dir)).toEqual({ used: false, cursor: 600 + 400 + 1 });
  });

  it('deleting a session removes its checkpoint; listing never shows checkpoints', async () => {
    const dir = await tmp.make('bothost-ckpt-');
    const { file } = await seed(dir);
    const { store } = openStore(dir);
    expect((await store.listSessions()).map((s) => s.id)).toEqual(['s']);
    await store.deleteSession('s');
    await expect(fsp.access(checkpointPath(file))).rejects.toThrow();
    expect(await fsp.readdir(dir)).toEqual([]);
    await store.close();
  });
});
