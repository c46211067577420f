/**
 * FileSessionStore: the embedded default. One append-only JSON Lines file per session.
 *
 * Invariants (see file-log-format.ts for the records):
 * - Appends cost O(size of the append): the store keeps each session's state (last cursor,
 *   fence, recent inbound ids) in memory and reads only bytes other processes appended since.
 *   A fresh process starts from a verified checkpoint of that state (file-log-checkpoint.ts)
 *   and reads only what was appended after it, so its first append costs what later ones do.
 * - A write is acknowledged only after fdatasync (and a directory fsync when a file is created
 *   or replaced), so `kill -9` never loses an acknowledged append.
 * - Writers of one session are serialized across processes by `ProcessLock` and within the
 *   process by `KeyedMutex`. Only a lock holder repairs a torn tail; readers ignore it.
 * - Every record is one line written by one write(2): a crash leaves at most one torn line, so
 *   a multi-entry commit is all or nothing.
 * - Files are replaced (compaction, clear) by write-temp → fsync → rename → fsync dir, so a
 *   session is always either its old or its new state, never partial or empty.
 * - What is kept is bounded: when more than `maxMessages` + slack entries pile up, the file is
 *   compacted to the newest `maxMessages` (amortized O(1) per append), plus the older entries a
 *   snapshot or fork holds (retention-holds.ts), which stay stored but are not served.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BotHostError, StoreError } from '../core/errors.js';
import type {
  ChatMessage,
  CommitResult,
  EntriesOptions,
  ListOptions,
  Metadata,
  NewEntry,
  Role,
  SessionEntry,
  SessionInfo,
  SessionLog,
  TurnCommit,
} from '../core/session-store.js';
import { FORMAT_VERSION, serialize, type CommitRecord, type HeaderRecord, type LogRecord } from './file-log-format.js';
import {
  applyRecord,
  collectBackward,
  readRange,
  rememberInboundId,
  entriesForward,
  scanBuffer,
  type ScanResult,
  stateFromHeader,
  stateFromRecords,
  type LogState,
} from './file-log-reader.js';
import { appendWhole, createExclusive, replaceFile, syncDir } from './atomic-file.js';
import { DeferredSyncs, type FailedSync } from './deferred-sync.js';
import { LogHandles } from './file-log-handles.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import { metadataMatches } from './metadata-expectation.js';
import { createProcessLock, type ProcessLock } from './process-lock.js';
import { encodeSessionId } from '../core/session-id.js';
import { validateCommit } from './validate.js';
import { countHeld, heldRanges, isHeld, withoutHolds } from './retention-holds.js';
import { CHECKPOINT_EVERY_BYTES, checkpointPath, loadCheckpoint, saveCheckpoint } from './file-log-checkpoint.js';

export interface StoreLogger {
  warn(message: string): void;
}

export interface FileSessionStoreOptions {
  /** Default `~/.bothost/sessions`. Created if missing. */
  dir?: string;
  /** Messages served and kept per session. Default 1000. */
  maxMessages?: number;
  /** fsync every write (default true). Turning it off trades crash safety for speed. */
  durable?: boolean;
  /** How long a writer waits for another process's lock. Default 10 s. */
  lockTimeoutMs?: number;
  logger?: StoreLogger;
  /** Inject a lock (tests); default is the best one for this OS. */
  lock?: ProcessLock;
}

export const FILE_STORE_DEFAULTS = Object.freeze({
  dir: path.join(os.homedir(), '.bothost', 'sessions'),
  maxMessages: 1000,
  lockTimeoutMs: 10_000,
});

const EXT = '.jsonl';
/** How many leading bytes identify a version of a file (they cover the header's `g` tag). */
const HEAD_BYTES = 48;
/** A torn last line older than this is a dead writer's, not an append in progress. */
const TORN_TAIL_GRACE_MS = 5_000;

function damageText(scan: ScanResult): string {
  const parts: string[] = [];
  if (scan.corruptLines > 0) parts.push(`${scan.corruptLines} damaged line(s)`);
  if (scan.outOfOrder > 0) parts.push(`${scan.outOfOrder} record(s) out of order (cursors that do not increase, e.g. a copied line)`);
  return parts.join(' and ');
}
const newGeneration = () => randomBytes(8).toString('hex');

export class FileSessionStore implements SessionLog {
  readonly dir: string;
  readonly maxMessages: number;
  private readonly durable: boolean;
  private readonly lockTimeoutMs: number;
  private readonly logger: StoreLogger;
  private readonly lock: ProcessLock;
  private readonly mutex = new KeyedMutex();
  private readonly handles = new LogHandles();
  private readonly states = new Map<string, LogState>();
  /** What was last reported per file by readers, so one damaged file is reported once per version. */
  private readonly warnedOnRead = new Map<string, string>();
  private dirReady: Promise<void> | undefined;
  /** Checkpoint writes in flight (best effort, awaited by close). */
  private readonly checkpointing = new Set<Promise<void>>();

  constructor(options: FileSessionStoreOptions = {}) {
    this.dir = path.resolve(options.dir ?? FILE_STORE_DEFAULTS.dir);
    this.maxMessages = options.maxMessages ?? FILE_STORE_DEFAULTS.maxMessages;
    if (!Number.isInteger(this.maxMessages) || this.maxMessages < 1) {
      throw new StoreError(`maxMessages must be a positive integer, got ${options.maxMessages}`);
    }
    this.durable = options.durable ?? true;
    this.lockTimeoutMs = options.lockTimeoutMs ?? FILE_STORE_DEFAULTS.lockTimeoutMs;
    this.logger = options.logger ?? { warn: (m) => process.emitWarning(m, 'BothostStoreWarning') };
    this.lock = options.lock ?? createProcessLock();
  }

  /** Path of a session's file; never outside `dir`, whatever the id. */
  fileFor(sessionId: string): string {
    return path.join(this.dir, encodeSessionId(sessionId) + EXT);
  }

  // ---- the seed's five methods ----

  async addMessage(sessionId: string, role: Role, content: string, metadata?: Metadata): Promise<boolean> {
    const res = await this.commitTurn(sessionId, { entries: [{ role, content, ...(metadata ? { metadata } : {}) }] });
    return res.status === 'committed';
  }

  async getChatHistory(sessionId: string, maxMessages?: number): Promise<ChatMessage[]> {
    const entries = await this.tail(sessionId, Math.min(maxMessages ?? Infinity, this.maxMessages));
    return entries.map(({ role, content }) => ({ role, content }));
  }

  async clearSession(sessionId: string): Promise<boolean> {
    return this.withLock(sessionId, async (file) => {
      const state = await this.refresh(sessionId, file, true);
      if (!state) return false;
      state.meta = withoutHolds(state.meta); // the held entries go too (retention-holds.ts)
      await this.rewrite(file, state, []);
      return true;
    });
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    return this.withLock(sessionId, async (file) => {
      this.states.delete(file);
      this.handles.drop(file);
      await fsp.unlink(checkpointPath(file)).catch(() => undefined);
      try {
        await fsp.unlink(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new StoreError(`could not delete session file ${file}`, { cause: err });
      }
      await this.syncDir();
      return true;
    });
  }

  async sessionExists(sessionId: string): Promise<boolean> {
    const file = this.fileFor(sessionId); // an invalid id rejects, it is not "absent"
    try {
      await fsp.access(file, fsc.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  // ---- SessionLog ----

  async commitTurn(sessionId: string, commit: TurnCommit): Promise<CommitResult> {
    validateCommit(commit);
    return this.withLock(sessionId, async (file, syncs) => {
      const state = (await this.refresh(sessionId, file, true)) ?? (await this.create(sessionId, file));
      if (commit.inboundId !== undefined) {
        const cursor = state.ids.get(commit.inboundId);
        if (cursor !== undefined) return { status: 'duplicate', cursor };
      }
      if (commit.fence !== undefined && commit.fence < state.fence) {
        return { status: 'stale_fence', highestFence: state.fence };
      }
      const record: CommitRecord = {
        t: 'c',
        c: state.lastCursor + 1,
        ts: Date.now(),
        ...(commit.inboundId !== undefined ? { in: commit.inboundId } : {}),
        ...(commit.fence !== undefined ? { f: commit.fence } : {}),
        e: commit.entries.map(toStored),
      };
      await this.append(file, state, record, syncs);
      await this.compactIfDue(file, state);
      return { status: 'committed', cursors: commit.entries.map((_, i) => record.c + i) };
    });
  }

  async findCommitted(sessionId: string, inboundId: string): Promise<number | null> {
    const file = this.fileFor(sessionId);
    const state = await this.exclusive(file, () => this.refresh(sessionId, file, false));
    return state?.ids.get(inboundId) ?? null;
  }

  async getEntries(sessionId: string, options: EntriesOptions = {}): Promise<SessionEntry[]> {
    const after = options.after ?? 0;
    const limit = options.limit ?? Infinity;
    const file = this.fileFor(sessionId);
    const state = await this.exclusive(file, () => this.refresh(sessionId, file, false));
    if (!state) return [];
    const floor = this.servedFloor(state);
    const holds = options.includeHeld ? heldRanges(state.meta) : [];
    const wanted = (e: SessionEntry) => e.cursor > after && (e.cursor > floor || isHeld(holds, e.cursor));
    if (state.damaged > 0) return (await this.withReadHandle(file, entriesForward)).filter(wanted).slice(0, limit);
    // Scan newest-first down to `after` (bounded by what is served, unless held entries are
    // wanted too), keeping only the oldest `limit`.
    const stop = Math.max(after, holds.length > 0 ? Math.min(floor, holds[0]![0]) : floor);
    const found = await this.withReadHandle(file, (fh, size) => collectBackward(fh, size, (e) => e.cursor <= stop, holds.length > 0 ? Infinity : limit));
    return holds.length > 0 ? found.filter(wanted).slice(0, limit) : found;
  }

  async getSession(sessionId: string): Promise<SessionInfo | null> {
    const file = this.fileFor(sessionId);
    const state = await this.exclusive(file, () => this.refresh(sessionId, file, false));
    return state ? this.info(state) : null;
  }

  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    const limit = options.limit ?? 100;
    let names: string[];
    try {
      names = (await fsp.readdir(this.dir)).filter((n) => n.endsWith(EXT) && !n.startsWith('.'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StoreError(`could not list ${this.dir}`, { cause: err });
    }
    const stats = await Promise.all(
      names.map(async (n) => ({ file: path.join(this.dir, n), mtime: (await fsp.stat(path.join(this.dir, n)).catch(() => null))?.mtimeMs ?? -1 })),
    );
    stats.sort((a, b) => b.mtime - a.mtime);
    const infos: SessionInfo[] = [];
    for (const { file, mtime } of stats) {
      if (infos.length >= limit) break;
      if (mtime < 0) continue;
      const state = await this.exclusive(file, () => this.refresh(undefined, file, false)).catch((err) => {
        this.logger.warn(`skipping unreadable session file ${file}: ${(err as Error).message}`);
        return null;
      });
      if (state) infos.push(this.info(state));
    }
    return infos;
  }

  async updateMetadata(sessionId: string, patch: Metadata): Promise<void> {
    await this.updateMetadataIf(sessionId, {}, patch);
  }

  async updateMetadataIf(sessionId: string, expected: Metadata, patch: Metadata): Promise<boolean> {
    return this.withLock(sessionId, async (file, syncs) => {
      const existing = await this.refresh(sessionId, file, true);
      if (!metadataMatches(existing?.meta ?? {}, expected)) return false;
      const state = existing ?? (await this.create(sessionId, file));
      await this.append(file, state, { t: 'm', ts: Date.now(), meta: patch }, syncs);
      await this.compactIfDue(file, state);
      return true;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.checkpointing);
    this.states.clear();
    await this.handles.closeAll();
  }

  // ---- internals ----

  /** The newest `n` message entries, read backwards from the end of the file. */
  private async tail(sessionId: string, n: number): Promise<SessionEntry[]> {
    if (n <= 0) return [];
    const file = this.fileFor(sessionId);
    const state = await this.exclusive(file, () => this.refresh(sessionId, file, false));
    if (!state) return [];
    if (state.damaged > 0) return (await this.servedCarefully(file, state)).slice(-n);
    const floor = this.servedFloor(state);
    return this.withReadHandle(file, (fh, size) => collectBackward(fh, size, (e, k) => k >= n || e.cursor <= floor));
  }

  /**
   * What `getSession` reports. Held: entries kept below the served window for holds — those the
   * last compaction kept, plus those trimmed from the window since that a hold covers.
   */
  private info(state: LogState): SessionInfo {
    const info = toInfo(state, this.maxMessages);
    const held = state.heldCount + countHeld(heldRanges(state.meta), state.servedFrom, this.servedFloor(state));
    return held > 0 ? { ...info, heldCount: held } : info;
  }

  /** Entries with cursor ≤ this are not served: trimmed by `maxMessages`, or kept only for holds. */
  private servedFloor(state: LogState): number {
    return Math.max(state.servedFrom, state.lastCursor - this.maxMessages);
  }

  /** The served entries (newest maxMessages) of a file with damage: read forward, damage dropped. */
  private async servedCarefully(file: string, state: LogState): Promise<SessionEntry[]> {
    const floor = this.servedFloor(state);
    return (await this.withReadHandle(file, entriesForward)).filter((e) => e.cursor > floor).slice(-this.maxMessages);
  }

  private async withReadHandle<T>(file: string, fn: (fh: FileHandle, size: number) => Promise<T[]>): Promise<T[]> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StoreError(`could not open ${file}`, { cause: err });
    }
    try {
      return await fn(fh, (await fh.stat()).size);
    } finally {
      await fh.close();
    }
  }

  private async withLock<T>(sessionId: string, fn: (file: string, syncs: DeferredSyncs) => Promise<T>): Promise<T> {
    const file = this.fileFor(sessionId);
    await this.ensureDir();
    return this.withLockedFile(file, (syncs) => fn(file, syncs));
  }

  /** Run `fn` holding `file`'s locks; the appends it made are fdatasync'd after the release (deferred-sync.ts). */
  private withLockedFile<T>(file: string, fn: (syncs: DeferredSyncs) => Promise<T>): Promise<T> {
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
  private exclusive<T>(file: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(file, async () => {
      this.handles.hold(file);
      try {
        return await fn();
      } finally {
        this.handles.unhold(file);
      }
    });
  }

  private ensureDir(): Promise<void> {
    this.dirReady ??= fsp.mkdir(this.dir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (err) => {
        this.dirReady = undefined;
        throw new StoreError(`could not create session directory ${this.dir}`, { cause: err });
      },
    );
    return this.dirReady;
  }

  /**
   * Bring the cached state (callers hold this process's mutex for `file`) of `file` up to date, reading only what changed. With `repair`
   * (caller holds the lock) a torn tail is cut off and corrupt lines are compacted away.
   */
  private async refresh(sessionId: string | undefined, file: string, repair: boolean): Promise<LogState | null> {
    const current = await this.handles.current(file).catch((err: unknown) => {
      throw new StoreError(`could not open session file ${file}: ${(err as Error).message}`, { cause: err });
    });
    if (!current) {
      this.states.delete(file);
      return null;
    }
    const { handle, size, mtimeMs, fresh } = current;
    const { fh, ino } = handle;
    {
      let state = this.states.get(file);
      // A kept handle pins its inode, so only a freshly opened one can be a different file with a reused number.
      if (state && (state.ino !== ino || size < state.size || (fresh && !(await sameHead(fh, state))))) state = undefined;
      state ??= (await loadCheckpoint(fh, file, ino, size)) ?? undefined;
      if (state && size === state.size) {
        this.states.set(file, state);
        return state;
      }
      const from = state ? state.size : 0;
      const buf = await readRange(fh, from, size);
      const scan = scanBuffer(buf, state?.lastCursor ?? 0);
      if (!state) {
        state = stateFromRecords(scan.records, { sessionId, file, ino, fallbackId: path.basename(file, EXT), warn: (m) => this.logger.warn(m) });
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
        await this.compact(file, state);
        state.damaged = 0;
      }
      this.checkpointIfDue(file, state);
      return state;
    }
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
  private async create(sessionId: string, file: string): Promise<LogState> {
    const now = Date.now();
    const header: HeaderRecord = { t: 'h', g: newGeneration(), v: FORMAT_VERSION, id: sessionId, created: now, base: 0, fence: 0, meta: {}, ids: [] };
    await createExclusive(file, serialize(header), this.durable);
    const state = await this.refresh(sessionId, file, true);
    if (!state) throw new StoreError(`session file ${file} vanished right after creation`);
    return state;
  }

  /** Write `record` whole (the caller holds the lock); its fdatasync is left to `syncs`. */
  private async append(file: string, state: LogState, record: LogRecord, syncs: DeferredSyncs): Promise<void> {
    const buf = Buffer.from(serialize(record));
    try {
      const handle = this.handles.kept(file) ?? (await this.handles.current(file))?.handle;
      if (!handle) throw new Error('the file disappeared while locked (removed by hand?)');
      if (!handle.writable) await (await fsp.open(file, 'a')).close(); // throws the reason (EACCES …)
      await appendWhole(handle.fh, buf, state.size);
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
  private checkpointIfDue(file: string, state: LogState): void {
    if (state.damaged > 0 || state.size - (state.checkpointed ?? 0) < CHECKPOINT_EVERY_BYTES) return;
    const p = saveCheckpoint(file, state).finally(() => this.checkpointing.delete(p));
    this.checkpointing.add(p);
  }



  /**
   * Compact when more than `maxMessages` + slack entries (or metadata records) pile up. It runs
   * after a durable append, so a failure (disk full) is logged, not reported as a failed write:
   * the append stands and the next write tries again.
   */
  private async compactIfDue(file: string, state: LogState): Promise<void> {
    if (state.count - state.heldCount + state.metaRecords <= this.maxMessages + Math.max(50, this.maxMessages >> 1)) return;
    try {
      await this.compact(file, state);
    } catch (err) {
      this.logger.warn(`session file ${file}: compaction failed (will retry on the next write): ${(err as Error).message}`);
    }
  }

  /** Rewrite the file to the served window plus the older entries a hold covers now. */
  private async compact(file: string, state: LogState): Promise<void> {
    const floor = this.servedFloor(state);
    const holds = heldRanges(state.meta);
    const keep = (e: SessionEntry) => e.cursor > floor || isHeld(holds, e.cursor);
    const kept =
      state.damaged > 0 || holds.length > 0
        ? (await this.withReadHandle(file, state.damaged > 0 ? entriesForward : (fh, size) => collectBackward(fh, size, (e) => e.cursor <= Math.min(floor, holds[0]![0])))).filter(keep)
        : await this.withReadHandle(file, (fh, size) => collectBackward(fh, size, (e) => e.cursor <= floor));
    await this.rewrite(file, state, kept, floor);
  }

  /**
   * Replace the file with header + `kept`, carrying over cursor, fence, metadata and ids.
   * Entries of `kept` with cursor ≤ `servedFrom` are held ones (stored, not served).
   */
  private async rewrite(file: string, state: LogState, kept: SessionEntry[], servedFrom = state.lastCursor): Promise<void> {
    const base = kept.length ? kept[0]!.cursor - 1 : state.lastCursor;
    const header: HeaderRecord = {
      t: 'h',
      g: newGeneration(),
      v: FORMAT_VERSION,
      id: state.id,
      created: state.createdAt,
      base,
      ...(servedFrom > base ? { from: servedFrom } : {}),
      fence: state.fence,
      meta: state.meta,
      ids: [...state.ids],
    };
    const lines = [serialize(header)];
    for (const e of kept) {
      lines.push(serialize({ t: 'c', c: e.cursor, ts: e.ts, e: [toStored(e)] }));
    }
    await replaceFile(file, lines.join(''), this.durable);
    this.handles.drop(file);
    const { ino, size } = await fsp.stat(file);
    const next = stateFromHeader(header, ino);
    next.size = size;
    next.checkpointed = 0; // a new file version: the old checkpoint no longer matches
    next.head = Buffer.from(Buffer.from(lines[0]!, 'utf8').subarray(0, HEAD_BYTES)); // a copy, not a view
    next.lastCursor = state.lastCursor;
    next.count = kept.length;
    next.heldCount = kept.filter((e) => e.cursor <= next.servedFrom).length;
    next.updatedAt = state.updatedAt;
    for (const [id, c] of state.ids) rememberInboundId(next, id, c);
    this.states.set(file, next);
    Object.assign(state, next);
  }

  private syncDir(): Promise<void> {
    return syncDir(this.dir, this.durable);
  }
}

/** Whether the file still starts with the bytes `state` was built from (not replaced since). */
async function sameHead(fh: FileHandle, state: LogState): Promise<boolean> {
  if (!state.head) return true;
  return (await readRange(fh, 0, state.head.length)).equals(state.head);
}

function toStored(e: NewEntry): CommitRecord['e'][number] {
  return { r: e.role, m: e.content, ...(e.metadata && Object.keys(e.metadata).length ? { md: e.metadata } : {}) };
}

function toInfo(state: LogState, maxMessages: number): SessionInfo {
  return {
    id: state.id,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    messageCount: Math.min(state.count - state.heldCount, maxMessages),
    lastCursor: state.lastCursor,
    metadata: { ...state.meta }, // a copy: callers must not be able to edit the cached state
  };
}

