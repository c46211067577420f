/**
 * Appending a record to a session file, with the fdatasync split off: the record is written
 * under the session lock, the sync runs after the lock is released (group commit: the next
 * writer appends meanwhile, overlapping syncs share one journal commit). A caller acknowledges
 * the append only once `syncAppended` resolved.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { StoreError } from '../core/errors.js';
import { appendDurably } from './atomic-file.js';
import { serialize, type LogRecord } from './file-log-format.js';

/** A record written but not yet fdatasync'd: its handle and where it sits in the file. */
export interface Unsynced {
  fh: FileHandle;
  file: string;
  from: number;
  to: number;
}

/**
 * Write `record` at offset `size` (the end) of `file`; returns its length. With `durable` the
 * open handle goes to `unsynced` for `syncAppended`; a failed write leaves the file as it was.
 */
export async function appendRecord(file: string, size: number, record: LogRecord, durable: boolean, unsynced: Unsynced[]): Promise<number> {
  const buf = Buffer.from(serialize(record));
  const fh = await fsp.open(file, 'a');
  try {
    await appendDurably(fh, buf, size, false);
  } catch (err) {
    await fh.close();
    throw new StoreError(`could not write session file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (durable) unsynced.push({ fh, file, from: size, to: size + buf.length });
  else await fh.close();
  return buf.length;
}

/**
 * fdatasync each record's file. A failed sync means the record is not acknowledged:
 * `underLock` runs `cutOff` with the session lock held again, which removes the record if
 * nothing was appended after it (the usual case: one writer); otherwise it stays,
 * unacknowledged, like any write whose outcome is unknown.
 */
export async function syncAppended(pending: Unsynced[], underLock: (file: string, fn: () => Promise<void>) => Promise<void>): Promise<void> {
  let failure: { err: unknown; record: Unsynced } | undefined;
  for (const record of pending) {
    try {
      await record.fh.datasync();
    } catch (err) {
      failure ??= { err, record };
    } finally {
      await record.fh.close().catch(() => undefined);
    }
  }
  if (!failure) return;
  const { err, record } = failure;
  await underLock(record.file, async () => {
    const { size } = await fsp.stat(record.file);
    if (size === record.to) await fsp.truncate(record.file, record.from);
  }).catch(() => undefined);
  throw new StoreError(`could not write session file ${record.file}: ${(err as Error).message}`, { cause: err });
}
