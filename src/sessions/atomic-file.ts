/**
 * Crash-safe file replacement (docs/reliability.md, T13): write a temp file in the
 * same directory → fsync it → link/rename it into place → fsync the directory. A reader (or a
 * restart after kill -9) sees the old file or the new one, never a partial or empty one.
 */
import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StoreError } from '../core/errors.js';

/** Write `content` to a new temp file next to `file` (fsync'd when `durable`); returns its path. */
export async function writeTemp(file: string, content: string, durable: boolean): Promise<string> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(content);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.unlink(tmp).catch(() => undefined);
    throw new StoreError(`could not write ${tmp}: ${(err as Error).message}`, { cause: err });
  }
  await fh.close();
  return tmp;
}

/** Make renames and links in `dir` durable. */
export async function syncDir(dir: string, durable: boolean): Promise<void> {
  if (!durable) return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Create `file` with `content` only if it does not exist (complete content or nothing). */
export async function createExclusive(file: string, content: string, durable: boolean): Promise<void> {
  const tmp = await writeTemp(file, content, durable);
  try {
    await fsp.link(tmp, file);
  } catch (err) {
    // Only a lock-bypassing writer could have created it meanwhile; its file wins.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreError(`could not create ${file}`, { cause: err });
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
  await syncDir(path.dirname(file), durable);
}

/** Replace `file` with `content` atomically. */
export async function replaceFile(file: string, content: string, durable: boolean): Promise<void> {
  const tmp = await writeTemp(file, content, durable);
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw new StoreError(`could not replace session file ${file}`, { cause: err });
  }
  await syncDir(path.dirname(file), durable);
}

/**
 * Append `buf` at the end of `fh` (opened for append, `sizeBefore` bytes long), all of it or
 * nothing. A short write (disk filling up, RLIMIT_FSIZE) is not an error by itself: the rest is
 * written, which then fails with the real reason. On failure the file is truncated back to
 * `sizeBefore`, so no partial line is left for the next record to be glued onto; the original
 * error is rethrown for the caller to wrap. Callers must hold the file's lock.
 */
export async function appendWhole(fh: FileHandle, buf: Buffer, sizeBefore: number): Promise<void> {
  try {
    for (let off = 0; off < buf.length; ) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      if (bytesWritten <= 0) throw new Error('the file system accepted no bytes');
      off += bytesWritten;
    }
  } catch (err) {
    await fh.truncate(sizeBefore).catch(() => undefined);
    throw err;
  }
}

/**
 * `appendWhole` with synchronous write(2)s, for a record of a few hundred bytes written under a
 * lock: it lands in the page cache in microseconds, while a thread-pool round trip would cost
 * more and keep the lock held meanwhile. The fdatasync stays asynchronous.
 */
export function appendWholeSync(fh: FileHandle, buf: Buffer, sizeBefore: number): void {
  try {
    for (let off = 0; off < buf.length; ) {
      const bytesWritten = fs.writeSync(fh.fd, buf, off, buf.length - off);
      if (bytesWritten <= 0) throw new Error('the file system accepted no bytes');
      off += bytesWritten;
    }
  } catch (err) {
    try {
      fs.ftruncateSync(fh.fd, sizeBefore);
    } catch {
      // The original error is the one to report.
    }
    throw err;
  }
}

/** `appendWhole`, then fdatasync when `durable` (a failed sync truncates back to `sizeBefore` too). */
export async function appendDurably(fh: FileHandle, buf: Buffer, sizeBefore: number, durable: boolean): Promise<void> {
  await appendWhole(fh, buf, sizeBefore);
  if (!durable) return;
  try {
    await fh.datasync();
  } catch (err) {
    await fh.truncate(sizeBefore).catch(() => undefined);
    throw err;
  }
}
