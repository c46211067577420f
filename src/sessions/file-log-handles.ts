/**
 * Open handles on the session files this process uses, kept between operations so that an
 * append costs one stat of the path, one write and one fdatasync instead of two opens and
 * closes. Bounded: a handle is closed after `IDLE_CLOSE_MS` without use, and the least recently
 * used are closed first when more than `max` are open.
 *
 * A kept handle pins its inode, so the kernel cannot reuse its number: while the path's inode
 * number equals the handle's, the path is still the file the handle has open. When another
 * process (or a compaction here) replaced the file, the numbers differ and the file is reopened.
 *
 * Callers wrap every use of a file's handle in `hold`/`unhold`: a held handle is never closed
 * underneath them (eviction and `drop` wait for the last `unhold`).
 */
import fs, { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface LogHandle {
  readonly fh: FileHandle;
  readonly ino: number;
  /** False when the file could only be opened for reading (its permissions); writes then reopen it to report why. */
  readonly writable: boolean;
}

/** Read and append (O_APPEND: a write always lands at the real end), never create. */
const OPEN_FLAGS = fsc.O_RDWR | fsc.O_APPEND;
/** Long enough to span a turn's appends (user message, then the reply); short enough not to pin deleted files. */
/** Open errors after which the file may still be readable. */
const READ_ONLY_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);
export const IDLE_CLOSE_MS = 2_000;

export class LogHandles {
  private readonly open = new Map<string, LogHandle>();
  private readonly holders = new Map<string, number>();
  /** Handles dropped or evicted while held: closed at the last `unhold`. */
  private readonly closing = new Map<string, LogHandle[]>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly max = 64) {}

  hold(file: string): void {
    clearTimeout(this.idleTimers.get(file));
    this.idleTimers.delete(file);
    this.holders.set(file, (this.holders.get(file) ?? 0) + 1);
  }

  unhold(file: string): void {
    const n = (this.holders.get(file) ?? 1) - 1;
    if (n > 0) return void this.holders.set(file, n);
    this.holders.delete(file);
    for (const h of this.closing.get(file) ?? []) void h.fh.close().catch(() => undefined);
    this.closing.delete(file);
    if (this.open.has(file)) {
      const timer = setTimeout(() => (this.idleTimers.delete(file), this.drop(file)), IDLE_CLOSE_MS);
      this.idleTimers.set(file, timer.unref());
    }
  }

  /**
   * The kept handle if the path still names its file, with the path's size and mtime; `fresh`
   * is true when the handle was opened just now. Null when the file does not exist. Errors
   * other than ENOENT are thrown as they are.
   */
  async current(file: string): Promise<{ handle: LogHandle; size: number; mtimeMs: number; fresh: boolean } | null> {
    const kept = this.open.get(file);
    if (kept) {
      // Synchronous: a path lookup in the dentry cache, cheaper than a thread-pool round trip.
      const st = fs.statSync(file, { throwIfNoEntry: false });
      if (!st) return this.drop(file), null;
      if (st.ino === kept.ino) {
        this.open.delete(file); // re-insert: most recently used last
        this.open.set(file, kept);
        return { handle: kept, size: st.size, mtimeMs: st.mtimeMs, fresh: false };
      }
      this.drop(file);
    }
    let fh: FileHandle;
    let writable = true;
    try {
      fh = await fsp.open(file, OPEN_FLAGS).catch((err: NodeJS.ErrnoException) => {
        if (!READ_ONLY_CODES.has(err.code ?? '')) throw err;
        writable = false;
        return fsp.open(file, 'r');
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const { ino, size, mtimeMs } = await fh.stat().catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    const handle = { fh, ino, writable };
    this.open.set(file, handle);
    this.evictOverflow();
    return { handle, size, mtimeMs, fresh: true };
  }

  /** The kept handle of `file` (current() was called under the same lock), or null. */
  kept(file: string): LogHandle | null {
    return this.open.get(file) ?? null;
  }

  /** Forget `file`'s handle (the file was replaced or deleted); it closes once no longer held. */
  drop(file: string): void {
    const h = this.open.get(file);
    if (!h) return;
    this.open.delete(file);
    this.retire(file, h);
  }

  async closeAll(): Promise<void> {
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    this.idleTimers.clear();
    const all = [...this.open.values(), ...[...this.closing.values()].flat()];
    this.open.clear();
    this.closing.clear();
    await Promise.all(all.map((h) => h.fh.close().catch(() => undefined)));
  }

  private retire(file: string, h: LogHandle): void {
    if (this.holders.has(file)) this.closing.set(file, [...(this.closing.get(file) ?? []), h]);
    else void h.fh.close().catch(() => undefined);
  }

  private evictOverflow(): void {
    for (const [file, h] of this.open) {
      if (this.open.size <= this.max) return;
      this.open.delete(file);
      this.retire(file, h);
    }
  }
}
