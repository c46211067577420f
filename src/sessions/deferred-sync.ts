/**
 * The fdatasyncs of a locked write, run after the cross-process lock is released (group commit).
 *
 * The lock then covers only the write itself: while one writer waits for its fdatasync, writers
 * in other processes take the lock and write, and the kernel serves their concurrent fdatasyncs
 * of the file with one journal commit. "Accepted means durable" holds: an append resolves only
 * after an fdatasync issued after its own write returned, and fdatasync flushes all of the
 * file's written data, so it covers the append's bytes.
 */
import type { FileHandle } from 'node:fs/promises';

/** One append waiting for its fdatasync: the handle it was written through and where its bytes lie. */
export interface PendingSync {
  file: string;
  fh: FileHandle;
  from: number;
  to: number;
}

export interface FailedSync extends PendingSync {
  error: Error;
}

export class DeferredSyncs {
  private readonly pending: PendingSync[] = [];

  /** Sync `fh` once the lock is released (the caller keeps it open until then). */
  add(sync: PendingSync): void {
    this.pending.push(sync);
  }

  /** fdatasync every pending append; returns those whose sync failed (none are acknowledged). */
  async flush(): Promise<FailedSync[]> {
    const failed: FailedSync[] = [];
    for (const sync of this.pending.splice(0)) {
      await sync.fh.datasync().catch((error: Error) => failed.push({ ...sync, error }));
    }
    return failed;
  }
}
