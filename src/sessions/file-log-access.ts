/**
 * Access to one store's session files: per-file serialization (this process's mutex, then the
 * cross-process lock), the cached state of each file brought up to date incrementally, torn
 * tail and damage repair, and appends whose fdatasync runs after the lock (deferred-sync.ts).
 * FileSessionStore builds its operations from these; compaction is file-log-compaction.ts.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { BotHostError, StoreError } from '../core/errors.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import { appendWholeSync, createExclusive, syncDir } from './atomic-file.js';
import { DeferredSyncs, type FailedSync } from './deferred-sync.js';
import { loadCheckpoint, saveCheckpoint, CHECKPOINT_EVERY_BYTES } from './file-log-checkpoint.js';
import { compact, HEAD_BYTES, newGeneration } from './file-log-compaction.js';
import { FORMAT_VERSION, serialize, type HeaderRecord, type LogRecord } from './file-log-format.js';
import { LogHandles } from './file-log-handles.js';
import { applyRecord, readRange, readRangeQuickly, scanBuffer, stateFromRecords, type LogState, type ScanResult } from './file-log-reader.js';
import type { ProcessLock } from './process-lock.js';

export interface StoreLogger {
  warn(message: string): void;
}

export const SESSION_FILE_EXT = '.jsonl';
/** A torn last line older than this is a dead writer's, not an append in progress. */
const TORN_TAIL_GRACE_MS = 5_000;

export interface FileLogAccessOptions {
  dir: string;
  maxMessages: number;
  durable: boolean;
  lockTimeoutMs: number;
  logger: StoreLogger;
  lock: ProcessLock;
}

export class FileLogAccess {
  readonly dir: string;
  readonly maxMessages: number;
  readonly durable: boolean;
  readonly logger: StoreLogger;
  /** Each file's state as last read or written by this process. */
  readonly states = new Map<string, LogState>();
  readonly handles = new LogHandles();
  private readonly lockTimeoutMs: number;
  private readonly lock: ProcessLock;
  private readonly mutex = new KeyedMutex();
  /** What was last reported per file by readers, so one damaged file is reported once per version. */
  private readonly warnedOnRead = new Map<string, string>();
  /** Checkpoint writes in flight (best effort, awaited by close). */
  private readonly checkpointing = new Set<Promise<void>>();

  constructor(options: FileLogAccessOptions) {
    this.dir = options.dir;
    this.maxMessages = options.maxMessages;
    this.durable = options.durable;
    this.logger = options.logger;
    this.lockTimeoutMs = options.lockTimeoutMs;
    this.lock = options.lock;
  }

  /** Run `fn` holding `file`'s locks; the appends it made are fdatasync'd after the release (deferred-sync.ts). */
  withLockedFile<T>(file: string, fn: (syncs: DeferredSyncs) => Promise<T>): Promise<T> {
    return this.exclusive(file, async () => {
      const syncs = new DeferredSyncs();
      try {
        const release = await this.lock.acquire(file, this.lockTimeoutMs);
        let result: T;
        try {
          result = await fn(syncs);
        } finally {
          await release();
        }
        const failed = await syncs.flush();
        if (failed.length > 0) throw await this.withdraw(file, failed);
        return result;
      } catch (err) {
        // Raw errno errors (EACCES, EMFILE, EIO …) become the documented StoreError.
        if (err instanceof BotHostError) throw err;
        throw new StoreError(`session file ${file}: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  /** Run `fn` alone among this process's operations on `file`, its kept handle held open meanwhile. */
  exclusive<T>(file: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(file, async () => {
      this.handles.hold(file);
      try {
        return await fn();
      } finally {
        this.handles.unhold(file);
      }
    });
  }

  /**
   * Bring the cached state of `file` up to date, reading only what changed (callers run inside
   * `exclusive`). With `repair` (caller holds the lock) a torn tail is cut off and corrupt lines
   * are compacted away.
   */
  async refresh(sessionId: string | undefined, file: string, repair: boolean): Promise<LogState | null> {
    const current = await this.handles.current(file).catch((err: unknown) => {
      throw new StoreError(`could not open session file ${file}: ${(err as Error).message}`, { cause: err });
    });
    if (!current) {
      this.states.delete(file);
      return null;
    }
    const { handle, size, mtimeMs, fresh } = current;
    const { fh, ino } = handle;
    let state = this.states.get(file);
    // A kept handle pins its inode, so only a freshly opened one can be a different file with a reused number.
    if (state && (state.ino !== ino || size < state.size || (fresh && !(await sameHead(fh, state))))) state = undefined;
    state ??= (await loadCheckpoint(fh, file, ino, size)) ?? undefined;
    if (state && size === state.size) {
      this.states.set(file, state);
      return state;
    }
    const from = state ? state.size : 0;
    const buf = await readRangeQuickly(fh, from, size);
    const scan = scanBuffer(buf, state?.lastCursor ?? 0);
    if (!state) {
      state = stateFromRecords(scan.records, { sessionId, file, ino, fallbackId: path.basename(file, SESSION_FILE_EXT), warn: (m) => this.logger.warn(m) });
      state.head = Buffer.from(buf.subarray(0, HEAD_BYTES));
    }
    for (const rec of scan.records) applyRecord(state, rec);
    state.size = from + scan.completeBytes;
    state.damaged = scan.corruptLines + scan.outOfOrder;
    // Damage seen without the lock is not cached: the next writer rescans and repairs it.
    if (state.damaged > 0 && !repair) this.states.delete(file);
    else this.states.set(file, state);
    // A torn tail is normal while another process appends; one older than that is a dead writer's.
    const staleTear = scan.tornBytes > 0 && Date.now() - mtimeMs > TORN_TAIL_GRACE_MS;
    if (!repair) this.warnOnRead(file, size, scan, staleTear);
    if (repair && scan.tornBytes > 0) {
      this.logger.warn(`session file ${file}: cut off ${scan.tornBytes} bytes of an unfinished write (a writer died mid-append)`);
      await fsp.truncate(file, state.size);
    }
    if (repair && state.damaged > 0) {
      this.logger.warn(`session file ${file}: ${damageText(scan)} dropped; every intact record kept`);
      await compact(this, file, state);
      state.damaged = 0;
    }
    this.checkpointIfDue(file, state);
    return state;
  }

  /** Readers report damage too (once per file version), though only the next write repairs it. */
  private warnOnRead(file: string, size: number, scan: ScanResult, staleTear: boolean): void {
    const problems: string[] = [];
    if (scan.corruptLines + scan.outOfOrder > 0) problems.push(`${damageText(scan)} ignored`);
    if (staleTear) problems.push(`${scan.tornBytes} bytes of an unfinished write (a writer died mid-append) ignored`);
    if (problems.length === 0) return;
    const signature = `${size}:${problems.join()}`;
    if (this.warnedOnRead.get(file) === signature) return;
    this.warnedOnRead.set(file, signature);
    this.logger.warn(`session file ${file}: ${problems.join('; ')}; the next write to the session repairs it`);
  }

  /** Create the file atomically (complete header or nothing) and return its state. */
  async create(sessionId: string, file: string): Promise<LogState> {
    const now = Date.now();
    const header: HeaderRecord = { t: 'h', g: newGeneration(), v: FORMAT_VERSION, id: sessionId, created: now, base: 0, fence: 0, meta: {}, ids: [] };
    await createExclusive(file, serialize(header), this.durable);
    const state = await this.refresh(sessionId, file, true);
    if (!state) throw new StoreError(`session file ${file} vanished right after creation`);
    return state;
  }

  /** Write `record` whole (the caller holds the lock); its fdatasync is left to `syncs`. */
  async append(file: string, state: LogState, record: LogRecord, syncs: DeferredSyncs): Promise<void> {
    const buf = Buffer.from(serialize(record));
    try {
      const handle = this.handles.kept(file) ?? (await this.handles.current(file))?.handle;
      if (!handle) throw new Error('the file disappeared while locked (removed by hand?)');
      if (!handle.writable) await (await fsp.open(file, 'a')).close(); // throws the reason (EACCES …)
      appendWholeSync(handle.fh, buf, state.size);
      if (this.durable) syncs.add({ file, fh: handle.fh, from: state.size, to: state.size + buf.length });
    } catch (err) {
      throw new StoreError(`could not write session file ${file}: ${(err as Error).message}`, { cause: err });
    }
    state.size += buf.length;
    applyRecord(state, record);
    this.checkpointIfDue(file, state);
  }

  /**
   * After failed fdatasyncs (the lock was released meanwhile): take the lock again and cut each
   * unsynced append off if it is still the file's last bytes, so the file is as before it. If
   * another process appended after it, it stays (it cannot be cut alone) and may yet reach the
   * disk. Returns the error to report; the cached state is dropped and rebuilt from the file.
   */
  private async withdraw(file: string, failed: FailedSync[]): Promise<StoreError> {
    const first = failed[0]!;
    let withdrawn = false;
    try {
      const release = await this.lock.acquire(file, this.lockTimeoutMs);
      try {
        const last = failed.at(-1)!;
        const [onDisk, atPath] = await Promise.all([last.fh.stat(), fsp.stat(file).catch(() => null)]);
        if (atPath?.ino === onDisk.ino && onDisk.size === last.to) {
          await last.fh.truncate(first.from);
          withdrawn = true;
        }
      } finally {
        await release();
      }
    } catch {
      // Not withdrawn: reported below.
    }
    this.states.delete(file);
    const reason = `${first.error.message} (fdatasync)`;
    return withdrawn
      ? new StoreError(`could not write session file ${file}: ${reason}; nothing was stored`, { cause: first.error })
      : new StoreError(
          `could not write session file ${file}: ${reason}; the write is not acknowledged but may still reach the disk ` +
            '(other writes follow it): check the disk, then retry with the same inbound id (a stored one is reported as a duplicate)',
          { cause: first.error },
        );
  }

  /** Start a checkpoint write when enough was appended (or scanned) since the last one. */
  checkpointIfDue(file: string, state: LogState): void {
    if (state.damaged > 0 || state.size - (state.checkpointed ?? 0) < CHECKPOINT_EVERY_BYTES) return;
    const p = saveCheckpoint(file, state).finally(() => this.checkpointing.delete(p));
    this.checkpointing.add(p);
  }

  syncDir(): Promise<void> {
    return syncDir(this.dir, this.durable);
  }

  async close(): Promise<void> {
    await Promise.all(this.checkpointing);
    this.states.clear();
    await this.handles.closeAll();
  }
}

/** Whether the file still starts with the bytes `state` was built from (not replaced since). */
async function sameHead(fh: FileHandle, state: LogState): Promise<boolean> {
  if (!state.head) return true;
  return (await readRange(fh, 0, state.head.length)).equals(state.head);
}

function damageText(scan: ScanResult): string {
  const parts: string[] = [];
  if (scan.corruptLines > 0) parts.push(`${scan.corruptLines} damaged line(s)`);
  if (scan.outOfOrder > 0) parts.push(`${scan.outOfOrder} record(s) out of order (cursors that do not increase, e.g. a copied line)`);
  return parts.join(' and ');
}
