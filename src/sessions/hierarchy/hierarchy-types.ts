/** The public shapes of the hierarchy API (HierarchicalSessionStore). */

export interface HierarchicalSessionStoreOptions {
  /** Messages a history shows at most. Default: the wrapped store's `maxMessages`, else 1000. */
  maxMessages?: number;
  /** New ids for sessions, forks and snapshots; default `<kind>_<12 hex>`. */
  newId?: (kind: 'session' | 'fork' | 'snapshot') => string;
}

export interface ForkOptions {
  /** Last message the fork inherits, by view cursor (0: none). Default: the whole history. */
  fromCursor?: number;
  /** Or: the fork inherits the first `fromMessageIndex` messages of the history (Python's `messages[:n]`). */
  fromMessageIndex?: number;
  title?: string;
  /** The fork's id; default `fork_<12 hex>`. An existing id is an error. */
  id?: string;
}

export interface SnapshotSummary {
  id: string;
  label: string;
  createdAt: number;
  /** The session's last view cursor when the snapshot was taken. */
  cursor: number;
  messageCount: number;
}

export interface SessionNode {
  id: string;
  title?: string;
  /** The view cursor of the parent this session was forked at (absent for roots). */
  forkedAtCursor?: number;
  messageCount: number;
  lastActivity: number;
  snapshots: number;
  children: SessionNode[];
}
