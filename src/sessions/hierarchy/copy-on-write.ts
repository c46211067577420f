/**
 * The hierarchy's copy-on-write writes: forking, snapshotting and pointing a view elsewhere
 * (revert). Each puts holds (holds.ts) on the log ranges it will show, checks they are still
 * readable, and undoes its holds if anything fails, before the write that makes it visible.
 */
import type { SessionLog } from '../../core/session-store.js';
import { HIERARCHY_KEYS as K, type SnapshotRecord } from './hierarchy-metadata.js';
import type { ForkOptions } from './hierarchy-types.js';
import { closedSources, holdsBySource, releaseHolds, snapshotHolder, viewHolder, writeHolds } from './holds.js';
import type { LoadedSession } from './loaded-session.js';
import { assertReadable } from './read-view.js';
import { cutView, lastIssued, trimToWindow, viewLength, withOpenRange, type ViewRange } from './view.js';

/** What the writes work on: the wrapped store and the history window. */
export interface HierarchyContext {
  readonly store: SessionLog;
  readonly maxMessages: number;
}

/** Create `childId` as a copy-on-write fork of `parent` (`childId` checked free by the caller). */
export async function writeFork(ctx: HierarchyContext, parent: LoadedSession, childId: string, options: ForkOptions): Promise<void> {
  // Forks load their cut-point code on first use: a process that only runs turns never does.
  const { resolveCutPoint } = await import('./cut-point.js');
  const { store, maxMessages } = ctx;
  const sessionId = parent.info.id;
  const ownLast = parent.info.lastCursor;
  const cursor = resolveCutPoint(parent.info.id, parent.view, ownLast, maxMessages, options);
  const view = trimToWindow(withOpenRange(cutView(parent.view, ownLast, cursor), childId, 0, cursor), 0, maxMessages);
  await assertReadable(store, childId, view, 0, maxMessages, new Map([[sessionId, parent.info]]));
  // The parent lists the fork and holds what it inherits (one write), older ancestors hold
  // their part; then check again: a trim between the first check and the holds would
  // otherwise go unnoticed. Only then does the fork itself exist.
  const hold = viewHolder(childId);
  const now = Date.now();
  const fromParent = holdsBySource(view).get(sessionId);
  const ancestors = view.filter((r) => r.s !== sessionId);
  const undoParent = () => store.updateMetadata(sessionId, { [K.childPrefix + childId]: null, [hold]: null }).catch(() => undefined);
  const undoAncestors = () => releaseHolds(store, hold, closedSources(ancestors)).catch(() => undefined);
  const held = await Promise.allSettled([
    store.updateMetadata(sessionId, { [K.childPrefix + childId]: { at: now }, ...(fromParent ? { [hold]: fromParent } : {}) }),
    writeHolds(store, hold, ancestors),
  ]);
  try {
    for (const r of held) if (r.status === 'rejected') throw r.reason;
    await assertReadable(store, childId, view, 0, maxMessages, new Map(), { hold });
  } catch (err) {
    await Promise.all([undoParent(), undoAncestors()]);
    throw err;
  }
  // A crash before the next write leaves a parent listing (and holding for) a fork that does
  // not exist: `getSessionTree` skips it, deleting the parent releases it.
  try {
    await store.updateMetadata(childId, {
      [K.view]: view,
      [K.parent]: { id: sessionId, cursor, at: now },
      ...(options.title !== undefined ? { [K.title]: options.title } : parent.state.title !== undefined ? { [K.title]: `${parent.state.title} (fork)` } : {}),
    });
  } catch (err) {
    await Promise.all([undoParent(), undoAncestors(), store.deleteSession(childId).catch(() => undefined)]);
    throw err;
  }
}

/** Record `s`'s current history as a snapshot; returns its id (from `newId`, taken once the history proved readable). */
export async function writeSnapshot(ctx: HierarchyContext, s: LoadedSession, label: string, newId: () => string): Promise<string> {
  const { store, maxMessages } = ctx;
  const sessionId = s.info.id;
  const ownLast = s.info.lastCursor;
  const view = trimToWindow(s.view, ownLast, maxMessages);
  const ranges = view.map((r) => ({ ...r, u: r.u ?? ownLast })).filter((r) => r.u > r.a);
  // A snapshot of a history that can no longer be read could never be reverted to.
  if (s.stored) await assertReadable(store, sessionId, ranges, ownLast, maxMessages, new Map([[sessionId, s.info]]));
  const id = newId();
  const hold = snapshotHolder(sessionId, id);
  const record: SnapshotRecord = {
    id,
    label,
    createdAt: Date.now(),
    cursor: lastIssued(s.view, ownLast),
    count: Math.min(viewLength(view, ownLast), maxMessages),
    ranges,
  };
  // The record and the hold on the own log are one write; other logs get theirs beside it.
  // Then check again (a trim may have come between the first check and the hold) and undo
  // everything if it fails.
  const own = holdsBySource(ranges).get(sessionId);
  const others = ranges.filter((r) => r.s !== sessionId);
  const written = await Promise.allSettled([
    store.updateMetadata(sessionId, { [K.snapshotPrefix + id]: record, ...(own ? { [hold]: own } : {}) }),
    writeHolds(store, hold, others),
  ]);
  try {
    for (const r of written) if (r.status === 'rejected') throw r.reason;
    await assertReadable(store, sessionId, ranges, ownLast, maxMessages, new Map(), { hold });
  } catch (err) {
    await Promise.all([
      store.updateMetadata(sessionId, { [K.snapshotPrefix + id]: null, [hold]: null }).catch(() => undefined),
      releaseHolds(store, hold, closedSources(others)).catch(() => undefined),
    ]);
    throw err;
  }
  return id;
}

/** Point `s`'s view at `closed` + a new open range whose cursors continue after every one shown. */
export async function writeView(ctx: HierarchyContext, s: LoadedSession, closed: readonly ViewRange[]): Promise<void> {
  const { store, maxMessages } = ctx;
  const ownLast = s.info.lastCursor;
  const view = trimToWindow(withOpenRange(closed, s.info.id, ownLast, lastIssued(s.view, ownLast)), ownLast, maxMessages);
  await assertReadable(store, s.info.id, view, ownLast, maxMessages);
  const hold = viewHolder(s.info.id);
  const before = s.stored ? s.view : [];
  const previously = holdsBySource(before);
  await holdOrUndo(store, hold, view, () => assertReadable(store, s.info.id, view, ownLast, maxMessages, new Map(), { hold, previously }), before);
  try {
    await store.updateMetadata(s.info.id, { [K.view]: view });
  } catch (err) {
    await writeHolds(store, hold, before, closedSources(view)).catch(() => undefined);
    throw err;
  }
}

/**
 * Write hold `hold` on `ranges` (replacing what it held on `before`), then run `check`; if the
 * check fails the hold goes back to `before` and the error is rethrown.
 */
async function holdOrUndo(store: SessionLog, hold: string, ranges: readonly ViewRange[], check: () => Promise<void>, before: readonly ViewRange[]): Promise<void> {
  await writeHolds(store, hold, ranges, closedSources(before));
  try {
    await check();
  } catch (err) {
    await writeHolds(store, hold, before, closedSources(ranges)).catch(() => undefined);
    throw err;
  }
}
