/**
 * HierarchicalSessionStore: forks, snapshots and reverts on top of ANY `SessionLog` (file,
 * memory, Redis, Postgres), through the store interface only.
 *
 * Copy-on-write: a session's history is its *view* (view.ts), a short list of ranges of
 * session logs kept in its metadata. Forking writes two small metadata keys, whatever the
 * history's length; the fork then writes only to its own log. A snapshot records the view; a
 * revert points the view back at it (entries written since stay in the log, out of the view,
 * so a revert is O(1) and can itself be undone by a snapshot taken before it).
 *
 * Reading history through this class stitches what a session sees; a session that was never
 * forked, reverted or cleared with dependents has no stored view and takes the plain path
 * (one metadata read beside the store's own read, in the same round trip).
 *
 * Where the contract ends:
 * - View cursors (every cursor this class takes or returns) are monotonic and never reused per
 *   session; for a session that was never forked or reverted they equal the store's cursors.
 * - Retention: a history shows at most its newest `maxMessages` messages. Every snapshot and
 *   every stored view puts a hold (holds.ts) on the log ranges it shows, so stores keep them
 *   beyond `maxMessages` until the snapshot or fork is deleted or the view moves on. If an
 *   entry is missing anyway (a log cleared or deleted outside the hierarchy), reads fail with
 *   HISTORY_UNAVAILABLE; never a silent hole. Snapshots, forks and reverts check before they
 *   write anything.
 * - A session with forks cannot be deleted unless recursively (its forks are deleted too).
 * - Concurrent hierarchy writes to different keys never lose each other (hierarchy-metadata.ts);
 *   two reverts of one session at the same instant: the last one wins.
 *
 * @example
 *   const sessions = new HierarchicalSessionStore(new FileSessionStore());
 *   const main = await sessions.createSession({ title: 'Main' });
 *   await sessions.addMessage(main, 'user', "Let's discuss Python");
 *   const safe = await sessions.createSnapshot(main, 'safe point');
 *   const alt = await sessions.forkSession(main, { title: 'Alternative' });
 *   await sessions.revertToSnapshot(main, safe);
 */
import { randomBytes } from 'node:crypto';
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
} from '../../core/session-store.js';
import { assertSessionId } from '../../core/session-id.js';
import type { HierarchyContext } from './copy-on-write.js';
import { ImportFormatError, InvalidCursorError, SessionExistsError, SessionNotFoundError, SnapshotNotFoundError } from './errors.js';
import { HIERARCHY_KEYS as K } from './hierarchy-metadata.js';
import { readView } from './read-view.js';
import { releaseHolds, closedSources, snapshotHolder } from './holds.js';
import type { SessionExport } from './session-export.js';
import type { ForkOptions, HierarchicalSessionStoreOptions, SessionNode, SnapshotSummary } from './hierarchy-types.js';
import { decodeSession, loadSession, mustLoadSession, shownInfo, type LoadedSession } from './loaded-session.js';

// Writing forks, snapshots and views, and removing sessions, load on first use: a process that
// only runs turns (`bot chat --message`) never needs them.
const copyOnWrite = () => import('./copy-on-write.js');
const removal = () => import('./removal.js');
import { containsCursor, cutView, storeToViewCursor, trimToWindow } from './view.js';

export type { ForkOptions, HierarchicalSessionStoreOptions, SessionNode, SnapshotSummary };

export class HierarchicalSessionStore implements SessionLog, HierarchyContext {
  readonly store: SessionLog;
  readonly maxMessages: number;
  private readonly newId: (kind: 'session' | 'fork' | 'snapshot') => string;

  constructor(store: SessionLog, options: HierarchicalSessionStoreOptions = {}) {
    this.store = store;
    const fromStore = (store as { maxMessages?: unknown }).maxMessages;
    this.maxMessages = options.maxMessages ?? (typeof fromStore === 'number' ? fromStore : 1000);
    this.newId = options.newId ?? ((kind) => `${kind}_${randomBytes(6).toString('hex')}`);
  }

  // ---- the hierarchy ----

  /** A new, empty session. With `parentId` it is listed as that session's child (it inherits no messages; use forkSession for that). */
  async createSession(options: { title?: string; parentId?: string; id?: string; metadata?: Metadata } = {}): Promise<string> {
    const id = options.id ?? this.newId('session');
    assertSessionId(id);
    if (await this.store.sessionExists(id)) throw new SessionExistsError(id);
    const now = Date.now();
    if (options.parentId !== undefined) {
      if (!(await this.store.sessionExists(options.parentId))) throw new SessionNotFoundError(options.parentId, 'parent session');
      await this.store.updateMetadata(options.parentId, { [K.childPrefix + id]: { at: now } });
    }
    await this.store.updateMetadata(id, {
      ...options.metadata,
      ...(options.title !== undefined ? { [K.title]: options.title } : {}),
      ...(options.parentId !== undefined ? { [K.parent]: { id: options.parentId, cursor: 0, at: now } } : {}),
    });
    return id;
  }

  /** A copy-on-write fork: O(1) in time and bytes, however long the history. */
  async forkSession(sessionId: string, options: ForkOptions = {}): Promise<string> {
    const childId = options.id ?? this.newId('fork');
    assertSessionId(childId);
    const [parent, taken] = await Promise.all([this.mustLoad(sessionId), this.store.sessionExists(childId)]);
    if (taken || childId === sessionId) throw new SessionExistsError(childId, 'a fork needs a new id');
    await (await copyOnWrite()).writeFork(this, parent, childId, options);
    return childId;
  }

  /** Records the session's current history; returns the snapshot's id. */
  async createSnapshot(sessionId: string, label = ''): Promise<string> {
    return (await copyOnWrite()).writeSnapshot(this, await this.mustLoad(sessionId), label, () => this.newId('snapshot'));
  }

  /** Forgets a snapshot; the messages only it held are dropped by the store's next trim. */
  async deleteSnapshot(sessionId: string, snapshotId: string): Promise<void> {
    const s = await this.mustLoad(sessionId);
    const snap = s.state.snapshots.find((x) => x.id === snapshotId);
    if (!snap) throw new SnapshotNotFoundError(sessionId, snapshotId);
    await this.store.updateMetadata(sessionId, { [K.snapshotPrefix + snapshotId]: null });
    await releaseHolds(this.store, snapshotHolder(sessionId, snapshotId), closedSources(snap.ranges));
  }

  /** The history becomes exactly the snapshot's messages (same cursors); later ones leave the view. */
  async revertToSnapshot(sessionId: string, snapshotId: string): Promise<void> {
    const s = await this.mustLoad(sessionId);
    const snap = s.state.snapshots.find((x) => x.id === snapshotId);
    if (!snap) throw new SnapshotNotFoundError(sessionId, snapshotId);
    await (await copyOnWrite()).writeView(this, s, snap.ranges);
  }

  /** The history becomes its messages up to and including view cursor `cursor` (0: none). */
  async revertToMessage(sessionId: string, cursor: number): Promise<void> {
    const s = await this.mustLoad(sessionId);
    const ownLast = s.info.lastCursor;
    const view = trimToWindow(s.view, ownLast, this.maxMessages);
    if (!Number.isSafeInteger(cursor) || cursor < 0 || !containsCursor(view, ownLast, cursor)) {
      throw new InvalidCursorError(`session ${JSON.stringify(sessionId)} has no message at cursor ${cursor}; see the cursors with: bot session show`);
    }
    await (await copyOnWrite()).writeView(this, s, cutView(view, ownLast, cursor));
  }

  async getParent(sessionId: string): Promise<string | null> {
    return (await this.mustLoad(sessionId)).state.parent?.id ?? null;
  }

  async getChildren(sessionId: string): Promise<string[]> {
    return (await this.mustLoad(sessionId)).state.children;
  }

  /** The session and its descendants. Children deleted outside the hierarchy are left out. */
  async getSessionTree(sessionId: string): Promise<SessionNode> {
    const root = await this.mustLoad(sessionId);
    const seen = new Set<string>([sessionId]);
    const build = async (s: LoadedSession): Promise<SessionNode> => {
      const kids = (await Promise.all(s.state.children.filter((c) => !seen.has(c) && seen.add(c)).map((c) => this.load(c)))).filter(
        (x): x is LoadedSession => x !== null,
      );
      const info = this.viewInfo(s);
      return {
        id: s.info.id,
        ...(s.state.title !== undefined ? { title: s.state.title } : {}),
        ...(s.state.parent ? { forkedAtCursor: s.state.parent.cursor } : {}),
        messageCount: info.messageCount,
        lastActivity: info.updatedAt,
        snapshots: s.state.snapshots.length,
        children: await Promise.all(kids.map(build)),
      };
    };
    return build(root);
  }

  async listSnapshots(sessionId: string): Promise<SnapshotSummary[]> {
    return (await this.mustLoad(sessionId)).state.snapshots.map((x) => ({ id: x.id, label: x.label, createdAt: x.createdAt, cursor: x.cursor, messageCount: x.count }));
  }

  async rename(sessionId: string, title: string): Promise<void> {
    await this.mustLoad(sessionId);
    await this.store.updateMetadata(sessionId, { [K.title]: title });
  }

  async getTitle(sessionId: string): Promise<string | undefined> {
    return (await this.mustLoad(sessionId)).state.title;
  }

  /** Deletes the session; with forks only when `recursive` (the forks go too), else SESSION_HAS_CHILDREN. */
  async deleteSession(sessionId: string, options: { recursive?: boolean } = {}): Promise<boolean> {
    return (await removal()).deleteFromHierarchy(this, sessionId, options);
  }

  /**
   * Forget the history (the cursor keeps counting). The own log is emptied only when no
   * snapshot or fork still needs it; otherwise the view is emptied and the entries stay for them.
   */
  async clearSession(sessionId: string): Promise<boolean> {
    return (await removal()).clearInHierarchy(this, sessionId);
  }

  /** The session's history and snapshots as JSON (see session-export.ts), messages included. */
  async exportSession(sessionId: string): Promise<SessionExport> {
    const s = await this.mustLoad(sessionId);
    // Exports and imports load their code on first use: a process that only runs turns never does.
    const { exportLoaded } = await import('./export-import.js');
    return exportLoaded(this.store, { ...s, shown: this.viewInfo(s) }, this.maxMessages);
  }

  /**
   * Recreates an exported session (messages, cursors, snapshots, title, metadata) under its
   * id or `options.id`. An id that exists is an error (SESSION_EXISTS), never a merge or a wipe.
   * Not atomic: a failure part-way leaves a session to delete before importing again.
   */
  async importSession(data: unknown, options: { id?: string } = {}): Promise<string> {
    const [{ parseExport }, { importInto }] = await Promise.all([import('./session-export.js'), import('./export-import.js')]);
    const exp = parseExport(data);
    const id = options.id ?? exp.session.id;
    assertSessionId(id);
    if (await this.store.sessionExists(id)) {
      throw new SessionExistsError(id, options.id === undefined ? 'import it under another id (bot session import --as <newId>)' : 'pick another id');
    }
    if (exp.messages.length > this.maxMessages) {
      throw new ImportFormatError(`the export holds ${exp.messages.length} messages; this store keeps ${this.maxMessages} per session (store.max_messages)`);
    }
    await importInto(this.store, id, exp);
    return id;
  }

  // ---- SessionLog, in view cursors ----

  async addMessage(sessionId: string, role: Role, content: string, metadata?: Metadata): Promise<boolean> {
    return this.store.addMessage(sessionId, role, content, metadata);
  }

  /** What the session's agent sees: the newest `maxMessages` of its history, stitched. */
  async getChatHistory(sessionId: string, maxMessages?: number): Promise<ChatMessage[]> {
    const [info, plain] = await Promise.all([this.store.getSession(sessionId), this.store.getChatHistory(sessionId, maxMessages)]);
    if (!info || info.metadata[K.view] === undefined) return plain;
    const s = this.decode(info);
    const window = Math.floor(Math.min(maxMessages ?? Infinity, this.maxMessages));
    if (!(window >= 1)) return [];
    const entries = await readView(this.store, sessionId, s.view, info.lastCursor, { window });
    return entries.map(({ role, content }) => ({ role, content }));
  }

  async getEntries(sessionId: string, options: EntriesOptions = {}): Promise<SessionEntry[]> {
    const s = await this.load(sessionId);
    if (!s || !s.stored) return this.store.getEntries(sessionId, options);
    // The same answers as filtering by `cursor > after` and taking `limit`, for any number.
    const after = Math.max(0, Math.floor(options.after ?? 0));
    const limit = options.limit === undefined ? Infinity : Math.floor(options.limit);
    if (Number.isNaN(after) || after === Infinity || !(limit >= 1)) return [];
    return readView(this.store, sessionId, s.view, s.info.lastCursor, { window: this.maxMessages, after, limit });
  }

  async commitTurn(sessionId: string, commit: TurnCommit): Promise<CommitResult> {
    const [result, info] = await Promise.all([this.store.commitTurn(sessionId, commit), this.store.getSession(sessionId)]);
    if (!info || info.metadata[K.view] === undefined) return result;
    const view = this.decode(info).view;
    if (result.status === 'committed') return { ...result, cursors: result.cursors.map((c) => storeToViewCursor(view, sessionId, c)) };
    if (result.status === 'duplicate') return { ...result, cursor: storeToViewCursor(view, sessionId, result.cursor) };
    return result;
  }

  async findCommitted(sessionId: string, inboundId: string): Promise<number | null> {
    const [own, info] = await Promise.all([this.store.findCommitted(sessionId, inboundId), this.store.getSession(sessionId)]);
    if (own === null || !info || info.metadata[K.view] === undefined) return own;
    return storeToViewCursor(this.decode(info).view, sessionId, own);
  }

  /** The history cursor of the session's own store cursor `storeCursor` (what a turn's commit returns). */
  async toViewCursor(sessionId: string, storeCursor: number): Promise<number> {
    const s = await this.load(sessionId);
    return s?.stored ? storeToViewCursor(s.view, sessionId, storeCursor) : storeCursor;
  }

  async getSession(sessionId: string): Promise<SessionInfo | null> {
    const s = await this.load(sessionId);
    return s ? this.viewInfo(s) : null;
  }

  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    // One session with mangled hierarchy metadata must not hide the others: it is listed with
    // the store's own numbers (reading it still fails loudly).
    return (await this.store.listSessions(options)).map((info) => {
      try {
        return this.viewInfo(this.decode(info));
      } catch {
        return info;
      }
    });
  }

  async sessionExists(sessionId: string): Promise<boolean> {
    return this.store.sessionExists(sessionId);
  }

  /** A shallow merge into the session's metadata (the hierarchy's own keys are kept unless named). */
  async updateMetadata(sessionId: string, patch: Metadata): Promise<void> {
    return this.store.updateMetadata(sessionId, patch);
  }

  async updateMetadataIf(sessionId: string, expected: Metadata, patch: Metadata): Promise<boolean> {
    return this.store.updateMetadataIf(sessionId, expected, patch);
  }

  /** Closes the wrapped store. */
  async close(): Promise<void> {
    await this.store.close();
  }

  // ---- internals ----

  private load(sessionId: string): Promise<LoadedSession | null> {
    return loadSession(this.store, sessionId);
  }

  private mustLoad(sessionId: string): Promise<LoadedSession> {
    return mustLoadSession(this.store, sessionId);
  }

  private decode(info: SessionInfo): LoadedSession {
    return decodeSession(info);
  }

  private viewInfo(s: LoadedSession): SessionInfo {
    return shownInfo(s, this.maxMessages);
  }
}
