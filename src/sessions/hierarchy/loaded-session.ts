/**
 * A session as the hierarchy sees it: the store's info, its decoded hierarchy metadata and its
 * view (the stored one, or the plain view of its own log), and the numbers its history shows.
 */
import type { SessionInfo, SessionLog } from '../../core/session-store.js';
import { InvalidSessionIdError } from '../../core/errors.js';
import { SessionNotFoundError } from './errors.js';
import { readHierarchy, type HierarchyState } from './hierarchy-metadata.js';
import { implicitView, lastIssued, viewLength, type View } from './view.js';

export interface LoadedSession {
  info: SessionInfo;
  state: HierarchyState;
  view: View;
  /** Whether the view is stored (false: the plain view of the own log). */
  stored: boolean;
}

export function decodeSession(info: SessionInfo): LoadedSession {
  const state = readHierarchy(info.id, info.metadata);
  return { info, state, view: state.view ?? implicitView(info.id, info.lastCursor, info.messageCount), stored: state.view !== undefined };
}

export async function loadSession(store: SessionLog, sessionId: string): Promise<LoadedSession | null> {
  const info = await store.getSession(sessionId);
  return info ? decodeSession(info) : null;
}

export async function mustLoadSession(store: SessionLog, sessionId: string): Promise<LoadedSession> {
  if (typeof sessionId !== 'string') throw new InvalidSessionIdError('it must be a string');
  const s = await loadSession(store, sessionId);
  if (!s) throw new SessionNotFoundError(sessionId);
  return s;
}

/** The store's info with the history's numbers: messages shown and the last view cursor. */
export function shownInfo(s: LoadedSession, maxMessages: number): SessionInfo {
  if (!s.stored) return s.info;
  const ownLast = s.info.lastCursor;
  return { ...s.info, messageCount: Math.min(viewLength(s.view, ownLast), maxMessages), lastCursor: lastIssued(s.view, ownLast) };
}
