/**
 * The identity's own sessions, for a client's conversation list: `list_sessions`,
 * `rename_session`, `delete_session`. Ownership is the same rule as joining: a session is served
 * only to the identity in its `gw.owner`; another identity's session answers `forbidden` (never
 * its title), a missing one `not_found`.
 *
 * Listing scans the store's sessions and keeps the identity's web sessions: cost grows with
 * the number of sessions in the store (bounded by the purge of detached sessions).
 */
import type { SessionInfo, SessionLog } from '../core/session-store.js';
import { META } from './constants.js';
import type { ErrorCode, RenameSessionFrame, ServerFrame, SessionAdminFrame, SessionSummary } from './frames.js';
import { isWebSessionKey, webSessionKey } from '../sessions/web-sessions.js';
import { writeAsOwner } from './session-ownership.js';

export type AdminAnswer = ServerFrame | { error: ErrorCode; message: string };

export interface AdminDeps {
  store: SessionLog;
  /** Stop the session's running turn before deleting it. */
  stopTurn(key: string): Promise<unknown>;
}

export async function sessionAdmin(deps: AdminDeps, identity: string, f: SessionAdminFrame): Promise<AdminAnswer> {
  if (f.type === 'list_sessions') return { type: 'sessions', sessions: await listOwned(deps.store, identity, f.limit ?? 200) };
  const key = webSessionKey(f.session_id);
  const info = await deps.store.getSession(key);
  if (info === null || info.metadata[META.owner] === undefined) return { error: 'not_found', message: `session "${f.session_id}" does not exist` };
  if (info.metadata[META.owner] !== identity || info.metadata[META.sessionId] !== f.session_id) {
    return { error: 'forbidden', message: `session "${f.session_id}" belongs to another identity` };
  }
  if (f.type === 'rename_session') return rename(deps.store, key, identity, f);
  await deps.stopTurn(key).catch(() => undefined);
  // Clients still attached to it hear `not_found` on their next message (the ownership check).
  await deps.store.deleteSession(key);
  return { type: 'session_deleted', session_id: f.session_id };
}

async function rename(store: SessionLog, key: string, identity: string, f: RenameSessionFrame): Promise<AdminAnswer> {
  if (!(await writeAsOwner(store, key, identity, { [META.title]: f.title }))) return { error: 'not_found', message: `session "${f.session_id}" does not exist` };
  return { type: 'session_renamed', session_id: f.session_id, title: f.title };
}

async function listOwned(store: SessionLog, identity: string, limit: number): Promise<SessionSummary[]> {
  const all = await store.listSessions({ limit: 1_000_000 });
  return all
    .filter((s) => isWebSessionKey(s.id) && s.metadata[META.owner] === identity && typeof s.metadata[META.sessionId] === 'string')
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, limit)
    .map(summaryOf);
}

function summaryOf(s: SessionInfo): SessionSummary {
  const title = s.metadata[META.title];
  return {
    session_id: String(s.metadata[META.sessionId]),
    ...(typeof title === 'string' ? { title } : {}),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    last_cursor: s.lastCursor,
  };
}

/** A title from a first message: one line, clipped to `max` code points. */
export function titleFrom(content: string, max: number): string {
  const line = content.trim().split('\n')[0]!.replace(/\s+/g, ' ');
  const chars = Array.from(line);
  return chars.length <= max ? line : `${chars.slice(0, max - 1).join('')}…`;
}
