/**
 * FileSessionStore: the embedded default. One append-only JSON Lines file per session.
 *
 * Invariants (see file-log-format.ts for the records):
 * - Appends cost O(size of the append): the store keeps each session's state (last cursor,
 *   fence, recent inbound ids) in memory and reads only bytes other processes appended since.
 *   A fresh process starts from a verified checkpoint of that state (file-log-checkpoint.ts)
 *   and reads only what was appended after it, so its first append costs what later ones do.
 * - A write is acknowledged only after fdatasync (and a directory fsync when a file is created
 *   or replaced), so `kill -9` never loses an acknowledged append. An append's fdatasync runs
 *   after the lock is released, so writers in other processes write meanwhile and share
 *   journal commits (deferred-sync.ts).
 * - Writers of one session are serialized across processes by `ProcessLock` and within the
 *   process by `KeyedMutex`. Only a lock holder repairs a torn tail; readers ignore it.
 * - The per-file machinery (locks, cached state, kept handles, repair) is file-log-access.ts;
 *   compaction is file-log-compaction.ts.
 * - Every record is one line written by one write(2): a crash leaves at most one torn line, so
 *   a multi-entry commit is all or nothing.
 * - Files are replaced (compaction, clear) by write-temp → fsync → rename → fsync dir, so a
 *   session is always either its old or its new state, never partial or empty.
 * - What is kept is bounded: when more than `maxMessages` + slack entries pile up, the file is
 *   compacted to the newest `maxMessages` (amortized O(1) per append), plus the older entries a
 *   snapshot or fork holds (retention-holds.ts), which stay stored but are not served.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../core/errors.js';
import type {
  ChatMessage,
  CommitResult,
  EntriesOptions,
  ListOptions,
  Metadata,
  Role,
  SessionEntry,
  SessionInfo,
  SessionLog,
  TurnCommit,
} from '../core/session-store.js';
import { encodeSessionId } from '../core/session-id.js';
import type { DeferredSyncs } from './deferred-sync.js';
import { FileLogAccess, SESSION_FILE_EXT, type StoreLogger } from './file-log-access.js';
import { checkpointPath } from './file-log-checkpoint.js';
import { compactIfDue, rewrite, servedFloor, toStored } from './file-log-compaction.js';
import type { CommitRecord } from './file-log-format.js';
import { collectBackward, entriesForward, withReadHandle, type LogState } from './file-log-reader.js';
import { metadataMatches } from './metadata-expectation.js';
import { createProcessLock, type ProcessLock } from './process-lock.js';
import { countHeld, heldRanges, isHeld, withoutHolds } from './retention-holds.js';
import { validateCommit } from './validate.js';

export type { StoreLogger };

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

export class FileSessionStore implements SessionLog {
  readonly dir: string;
  readonly maxMessages: number;
  private readonly log: FileLogAccess;
  private dirReady: Promise<void> | undefined;

  constructor(options: FileSessionStoreOptions = {}) {
    this.dir = path.resolve(options.dir ?? FILE_STORE_DEFAULTS.dir);
    this.maxMessages = options.maxMessages ?? FILE_STORE_DEFAULTS.maxMessages;
    if (!Number.isInteger(this.maxMessages) || this.maxMessages < 1) {
      throw new StoreError(`maxMessages must be a positive integer, got ${options.maxMessages}`);
    }
    this.log = new FileLogAccess({
      dir: this.dir,
      maxMessages: this.maxMessages,
      durable: options.durable ?? true,
      lockTimeoutMs: options.lockTimeoutMs ?? FILE_STORE_DEFAULTS.lockTimeoutMs,
      logger: options.logger ?? { warn: (m) => process.emitWarning(m, 'BothostStoreWarning') },
      lock: options.lock ?? createProcessLock(),
    });
  }

  /** Path of a session's file; never outside `dir`, whatever the id. */
  fileFor(sessionId: string): string {
    return path.join(this.dir, encodeSessionId(sessionId) + SESSION_FILE_EXT);
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
      const state = await this.log.refresh(sessionId, file, true);
      if (!state) return false;
      state.meta = withoutHolds(state.meta); // the held entries go too (retention-holds.ts)
      await rewrite(this.log, file, state, []);
      return true;
    });
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    return this.withLock(sessionId, async (file) => {
      this.log.states.delete(file);
      this.log.handles.drop(file);
      await fsp.unlink(checkpointPath(file)).catch(() => undefined);
      try {
        await fsp.unlink(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new StoreError(`could not delete session file ${file}`, { cause: err });
      }
      await this.log.syncDir();
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
      const state = (await this.log.refresh(sessionId, file, true)) ?? (await this.log.create(sessionId, file));
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
      await this.log.append(file, state, record, syncs);
      await compactIfDue(this.log, file, state);
      return { status: 'committed', cursors: commit.entries.map((_, i) => record.c + i) };
    });
  }

  async findCommitted(sessionId: string, inboundId: string): Promise<number | null> {
    const file = this.fileFor(sessionId);
    const state = await this.log.exclusive(file, () => this.log.refresh(sessionId, file, false));
    return state?.ids.get(inboundId) ?? null;
  }

  async getEntries(sessionId: string, options: EntriesOptions = {}): Promise<SessionEntry[]> {
    const after = options.after ?? 0;
    const limit = options.limit ?? Infinity;
    const file = this.fileFor(sessionId);
    const state = await this.log.exclusive(file, () => this.log.refresh(sessionId, file, false));
    if (!state) return [];
    const floor = servedFloor(state, this.maxMessages);
    const holds = options.includeHeld ? heldRanges(state.meta) : [];
    const wanted = (e: SessionEntry) => e.cursor > after && (e.cursor > floor || isHeld(holds, e.cursor));
    if (state.damaged > 0) return (await withReadHandle(file, entriesForward)).filter(wanted).slice(0, limit);
    // Scan newest-first down to `after` (bounded by what is served, unless held entries are
    // wanted too), keeping only the oldest `limit`.
    const stop = Math.max(after, holds.length > 0 ? Math.min(floor, holds[0]![0]) : floor);
    const found = await withReadHandle(file, (fh, size) => collectBackward(fh, size, (e) => e.cursor <= stop, holds.length > 0 ? Infinity : limit));
    return holds.length > 0 ? found.filter(wanted).slice(0, limit) : found;
  }

  async getSession(sessionId: string): Promise<SessionInfo | null> {
    const file = this.fileFor(sessionId);
    const state = await this.log.exclusive(file, () => this.log.refresh(sessionId, file, false));
    return state ? this.info(state) : null;
  }

  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    const limit = options.limit ?? 100;
    let names: string[];
    try {
      names = (await fsp.readdir(this.dir)).filter((n) => n.endsWith(SESSION_FILE_EXT) && !n.startsWith('.'));
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
      const state = await this.log.exclusive(file, () => this.log.refresh(undefined, file, false)).catch((err) => {
        this.log.logger.warn(`skipping unreadable session file ${file}: ${(err as Error).message}`);
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
      const existing = await this.log.refresh(sessionId, file, true);
      if (!metadataMatches(existing?.meta ?? {}, expected)) return false;
      const state = existing ?? (await this.log.create(sessionId, file));
      await this.log.append(file, state, { t: 'm', ts: Date.now(), meta: patch }, syncs);
      await compactIfDue(this.log, file, state);
      return true;
    });
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  // ---- internals ----

  /** The newest `n` message entries, read backwards from the end of the file. */
  private async tail(sessionId: string, n: number): Promise<SessionEntry[]> {
    if (n <= 0) return [];
    const file = this.fileFor(sessionId);
    const state = await this.log.exclusive(file, () => this.log.refresh(sessionId, file, false));
    if (!state) return [];
    if (state.damaged > 0) return (await this.servedCarefully(file, state)).slice(-n);
    const floor = servedFloor(state, this.maxMessages);
    return withReadHandle(file, (fh, size) => collectBackward(fh, size, (e, k) => k >= n || e.cursor <= floor));
  }

  /**
   * What `getSession` reports. Held: entries kept below the served window for holds — those the
   * last compaction kept, plus those trimmed from the window since that a hold covers.
   */
  private info(state: LogState): SessionInfo {
    const info = toInfo(state, this.maxMessages);
    const held = state.heldCount + countHeld(heldRanges(state.meta), state.servedFrom, servedFloor(state, this.maxMessages));
    return held > 0 ? { ...info, heldCount: held } : info;
  }

  /** The served entries (newest maxMessages) of a file with damage: read forward, damage dropped. */
  private async servedCarefully(file: string, state: LogState): Promise<SessionEntry[]> {
    const floor = servedFloor(state, this.maxMessages);
    return (await withReadHandle(file, entriesForward)).filter((e) => e.cursor > floor).slice(-this.maxMessages);
  }

  private async withLock<T>(sessionId: string, fn: (file: string, syncs: DeferredSyncs) => Promise<T>): Promise<T> {
    const file = this.fileFor(sessionId);
    await this.ensureDir();
    return this.log.withLockedFile(file, (syncs) => fn(file, syncs));
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

