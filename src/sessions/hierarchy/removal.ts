/**
 * Removing from the hierarchy: deleting a session (with its forks, when asked) and releasing
 * what it held in other logs; clearing a history without breaking snapshots or forks that
 * still show its entries.
 */
import { hasHolds } from '../retention-holds.js';
import type { HierarchyContext } from './copy-on-write.js';
import { SessionHasChildrenError } from './errors.js';
import { HIERARCHY_KEYS as K } from './hierarchy-metadata.js';
import { closedSources, releaseHolds, snapshotHolder, viewHolder } from './holds.js';
import { loadSession } from './loaded-session.js';
import { lastIssued, withOpenRange, type ViewRange } from './view.js';

/** Delete the session; with forks only when `recursive` (the forks go too), else SESSION_HAS_CHILDREN. */
export async function deleteFromHierarchy(ctx: HierarchyContext, sessionId: string, options: { recursive?: boolean }): Promise<boolean> {
  const { store } = ctx;
  const s = await loadSession(store, sessionId);
  if (!s) return false;
  const children = (await Promise.all(s.state.children.map(async (c) => ((await store.sessionExists(c)) ? c : null)))).filter((c): c is string => c !== null);
  if (children.length > 0 && !options.recursive) throw new SessionHasChildrenError(sessionId, children);
  for (const child of children) await deleteFromHierarchy(ctx, child, { recursive: true });
  const deleted = await store.deleteSession(sessionId);
  // Release what this session's view and snapshots held in other sessions' logs.
  const others = (ranges: readonly ViewRange[]) => closedSources(ranges).filter((x) => x !== sessionId);
  if (s.stored) await releaseHolds(store, viewHolder(sessionId), others(s.view));
  for (const snap of s.state.snapshots) await releaseHolds(store, snapshotHolder(sessionId, snap.id), others(snap.ranges));
  const parent = s.state.parent?.id;
  if (parent !== undefined && (await store.sessionExists(parent))) {
    await store.updateMetadata(parent, { [K.childPrefix + sessionId]: null });
  }
  return deleted;
}

/**
 * Forget the history (the cursor keeps counting). The own log is emptied only when no
 * snapshot or fork still needs it; otherwise the view is emptied and the entries stay for them.
 */
export async function clearInHierarchy(ctx: HierarchyContext, sessionId: string): Promise<boolean> {
  const { store } = ctx;
  const s = await loadSession(store, sessionId);
  if (!s) return false;
  const ownLast = s.info.lastCursor;
  const base = lastIssued(s.view, ownLast);
  const { [viewHolder(sessionId)]: _ownView, ...others } = s.info.metadata;
  const referenced = s.state.snapshots.length > 0 || s.state.children.length > 0 || hasHolds(others);
  // What the old view held is released once the view no longer shows it.
  const releaseView = () => (s.stored ? releaseHolds(store, viewHolder(sessionId), closedSources(s.view)) : Promise.resolve());
  if (!referenced && base === ownLast) {
    // The plain view of an empty log is the empty view with the same cursors. Log first: a
    // failure in between leaves a view over missing entries (a loud error), never one that
    // shows reverted-away entries again.
    const cleared = await store.clearSession(sessionId);
    if (s.stored) await store.updateMetadata(sessionId, { [K.view]: null });
    await releaseView();
    return cleared;
  }
  await store.updateMetadata(sessionId, { [K.view]: withOpenRange([], sessionId, ownLast, base) });
  await releaseView();
  if (!referenced) await store.clearSession(sessionId);
  return true;
}
