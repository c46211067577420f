/**
 * Checkpoints of a session file's tail state, so a fresh process appends to (or reads) a long
 * session without reading the whole file: it loads the checkpoint, verifies it, and reads only
 * what was appended after it.
 *
 * A checkpoint is a hint, never trusted blindly. It lives beside the session file
 * (`.<file>.state`, written temp → rename, not fsync'd: losing one only costs a full scan) and
 * is used only when all of these hold for the file as it is now:
 * - same inode, and at least as long as the checkpoint's `size`;
 * - the file's first bytes equal the checkpoint's `head` (they hold the header's generation
 *   tag, new for every compaction or clear, so a replaced file never matches);
 * - the SHA-256 of the bytes just before `size` (the end of the last record it covers) matches,
 *   and the byte at `size - 1` is a newline (a checkpoint never ends mid-record).
 * Anything else (stale, torn, from another file version, garbage) is ignored: the store falls
 * back to the full scan and writes a fresh checkpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { readRange, type LogState } from './file-log-reader.js';

/** A checkpoint is written once this many bytes were appended since the last one (or a full scan read them). */
export const CHECKPOINT_EVERY_BYTES = 128 * 1024;
/** Bytes before `size` whose hash ties a checkpoint to the exact records it covers. */
const TAIL_BYTES = 256;
const VERSION = 1;

interface CheckpointFile {
  v: number;
  ino: number;
  size: number;
  head: string;
  tail: string;
  /** The tail state it covers, its inbound ids as pairs (JSON has no Map). */
  state: CheckpointedState;
}

type CheckpointedState = Pick<LogState, 'id' | 'createdAt' | 'updatedAt' | 'meta' | 'lastCursor' | 'fence' | 'count' | 'servedFrom' | 'heldCount' | 'metaRecords'> & {
  ids: Array<[string, number]>;
};

export function checkpointPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.state`);
}

async function tailHash(fh: FileHandle, size: number): Promise<{ hash: string; endsWithNewline: boolean }> {
  const bytes = await readRange(fh, Math.max(0, size - TAIL_BYTES), size);
  return { hash: createHash('sha256').update(bytes).digest('hex'), endsWithNewline: bytes.length > 0 && bytes[bytes.length - 1] === 0x0a };
}

/** The verified state of `fh` (inode `ino`, `size` bytes) up to the checkpoint's size, or null. */
export async function loadCheckpoint(fh: FileHandle, file: string, ino: number, size: number): Promise<LogState | null> {
  let ck: CheckpointFile;
  try {
    ck = JSON.parse(await fsp.readFile(checkpointPath(file), 'utf8')) as CheckpointFile;
  } catch {
    return null; // none, unreadable or not JSON
  }
  try {
    if (ck.v !== VERSION || ck.ino !== ino || !Number.isSafeInteger(ck.size) || ck.size <= 0 || ck.size > size) return null;
    const head = Buffer.from(ck.head, 'base64');
    if (head.length === 0 || !(await readRange(fh, 0, head.length)).equals(head)) return null;
    const tail = await tailHash(fh, ck.size);
    if (!tail.endsWithNewline || tail.hash !== ck.tail) return null;
    const s = ck.state;
    if (typeof s.id !== 'string' || !Number.isSafeInteger(s.lastCursor) || !Array.isArray(s.ids) || typeof s.meta !== 'object' || s.meta === null) return null;
    return {
      ino,
      size: ck.size,
      id: s.id,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      meta: s.meta,
      lastCursor: s.lastCursor,
      fence: s.fence,
      count: s.count,
      servedFrom: s.servedFrom,
      heldCount: s.heldCount,
      metaRecords: s.metaRecords,
      ids: new Map(s.ids),
      head,
      damaged: 0,
      checkpointed: ck.size,
    };
  } catch {
    return null;
  }
}

/**
 * Write a checkpoint of `state` (which describes the file's first `state.size` bytes). Best
 * effort: a failure only means the next fresh process scans the file.
 */
export async function saveCheckpoint(file: string, state: LogState): Promise<void> {
  if (!state.head || state.damaged > 0 || state.size <= 0) return;
  const snapshot: Omit<CheckpointFile, 'tail'> = {
    v: VERSION,
    ino: state.ino,
    size: state.size,
    head: state.head.toString('base64'),
    state: {
      id: state.id,
      createdAt: state.createdAt,
      updatedAt: state.updatedAt,
      meta: state.meta,
      lastCursor: state.lastCursor,
      fence: state.fence,
      count: state.count,
      servedFrom: state.servedFrom,
      heldCount: state.heldCount,
      metaRecords: state.metaRecords,
      ids: [...state.ids],
    },
  };
  state.checkpointed = state.size;
  const target = checkpointPath(file);
  const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await fsp.open(file, 'r');
    let tail: { hash: string; endsWithNewline: boolean };
    try {
      tail = await tailHash(fh, snapshot.size);
    } finally {
      await fh.close();
    }
    if (!tail.endsWithNewline) return;
    await fsp.writeFile(tmp, JSON.stringify({ ...snapshot, tail: tail.hash }), { mode: 0o600 });
    await fsp.rename(tmp, target);
  } catch {
    await fsp.unlink(tmp).catch(() => undefined);
  }
}
