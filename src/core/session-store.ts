/**
 * The session store contract.
 *
 * `SessionStore` is the seed's five-method protocol (async, camelCase). Any object with these
 * methods is a store: structural typing, no base class. `SessionLog` adds what the host needs
 * on top: cursors, listing, metadata and the atomic turn commit. Every store in
 * `src/sessions/` implements `SessionLog` and passes `test/contract/session-store.contract.ts`.
 */
import type { AtomicKeyValue } from './key-value.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A message in the format LLM APIs take. */
export interface ChatMessage {
  role: Role;
  content: string;
}

export type Metadata = Record<string, unknown>;

export interface SessionStore {
  /** Append one message. Resolves true once it is durably stored. */
  addMessage(sessionId: string, role: Role, content: string, metadata?: Metadata): Promise<boolean>;
  /** Oldest first; at most the last `maxMessages` when given. Unknown session → []. */
  getChatHistory(sessionId: string, maxMessages?: number): Promise<ChatMessage[]>;
  /** Drop all messages, keep the session, its metadata and its cursor. False if it did not exist. */
  clearSession(sessionId: string): Promise<boolean>;
  /** Remove the session entirely. False if it did not exist. */
  deleteSession(sessionId: string): Promise<boolean>;
  sessionExists(sessionId: string): Promise<boolean>;
}

/** A stored message with its place in the session's log. */
export interface SessionEntry extends ChatMessage {
  /**
   * Monotonic per session, starting at 1, never reused: clearing a session keeps counting.
   * History, replay, snapshots and forks are expressed in cursors, never array indexes.
   */
  cursor: number;
  /** Milliseconds since the epoch, when the entry was committed. */
  ts: number;
  metadata?: Metadata;
}

export interface NewEntry {
  role: Role;
  content: string;
  metadata?: Metadata;
}

export interface SessionInfo {
  id: string;
  createdAt: number;
  updatedAt: number;
  /** Messages currently kept and served (after trimming and clears). */
  messageCount: number;
  /** Older messages kept beyond `messageCount` because snapshots or forks hold them (absent: none). */
  heldCount?: number;
  /** Cursor of the newest entry ever committed (0 when none). */
  lastCursor: number;
  metadata: Metadata;
}

/**
 * One atomic write of a turn: either every entry is appended, in order, or none is.
 */
export interface TurnCommit {
  /**
   * Idempotency key (the platform's message id). A second commit with a key this session has
   * already committed appends nothing and returns `duplicate`.
   */
  inboundId?: string;
  /**
   * Lease fencing token. A commit whose fence is lower than one already committed to this
   * session is from a worker that lost its lease: it appends nothing and returns `stale_fence`.
   */
  fence?: number;
  entries: NewEntry[];
}

export type CommitResult =
  | { status: 'committed'; cursors: number[] }
  /** `cursor` is the first cursor the earlier commit with this inbound id got. */
  | { status: 'duplicate'; cursor: number }
  | { status: 'stale_fence'; highestFence: number };

export interface ListOptions {
  /** Newest activity first; default 100. */
  limit?: number;
}

export interface EntriesOptions {
  /** Only entries with cursor > after (default 0: from the start of what is kept). */
  after?: number;
  /** At most this many, the oldest first. */
  limit?: number;
  /**
   * Also return entries older than the served window that the store keeps only because a
   * snapshot or fork holds them (src/sessions/retention-holds.ts). Default false: the window only.
   */
  includeHeld?: boolean;
}

export interface SessionLog extends SessionStore {
  commitTurn(sessionId: string, commit: TurnCommit): Promise<CommitResult>;
  /**
   * The first cursor of the commit that carried `inboundId`, or null if none did (among the
   * recent ids the store remembers). Lets a retried turn skip the model call.
   */
  findCommitted(sessionId: string, inboundId: string): Promise<number | null>;
  getEntries(sessionId: string, options?: EntriesOptions): Promise<SessionEntry[]>;
  getSession(sessionId: string): Promise<SessionInfo | null>;
  listSessions(options?: ListOptions): Promise<SessionInfo[]>;
  /** Shallow-merge `patch` into the metadata, creating the session if needed. Keys set to null are removed. */
  updateMetadata(sessionId: string, patch: Metadata): Promise<void>;
  /**
   * Compare-and-merge, atomic with respect to every other write to the session: apply `patch`
   * exactly as `updateMetadata` would (creating the session if needed) only when each key of
   * `expected` holds that value now (null: the key is absent; a missing session has no keys).
   * Values compare by their JSON. Resolves whether the patch was applied.
   * @example updateMetadataIf(id, { owner: null }, { owner: 'alice' }) // claim, unless owned
   */
  updateMetadataIf(sessionId: string, expected: Metadata, patch: Metadata): Promise<boolean>;
  /**
   * Optional: learn a fence issued by a lease kept outside the store (Postgres with the Redis
   * lease), so a commit below it is stale even before the new holder commits. Never lowers the
   * fence. Absent when the lease issues fences into the store itself (Redis); without it a
   * lost lease is still rejected once the new holder has committed.
   */
  recordFence?(sessionId: string, fence: number): Promise<void>;
  /** Optional: atomic key-value state kept in the same backend (Redis, Postgres), per namespace. */
  keyValue?(namespace: string): AtomicKeyValue;
  /**
   * Optional: present on a store that keeps its sessions in Redis in the shared key layout
   * (src/redis/redis-keys.ts), so scripts of others can read and write them in their own
   * round trip — the turn worker's claim and pop read the log and check the commit there.
   */
  readonly redisCommit?: RedisCommitAccess;
  close(): Promise<void>;
}

/** What a Redis-backed store tells scripts that touch its keys (see `SessionLog.redisCommit`). */
export interface RedisCommitAccess {
  /** The key prefix its sessions live under. */
  readonly prefix: string;
  /** The field of a session's meta hash that holds metadata key `key`. */
  metadataField(key: string): string;
  /** Entries as a script read them from the session's log list (LRANGE), as chat history. */
  historyFromLog(raw: readonly unknown[]): ChatMessage[];
}

/** Runtime check for the seed's protocol (the `isinstance(store, SessionStoreProtocol)` of TS). */
export function isSessionStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['addMessage', 'getChatHistory', 'clearSession', 'deleteSession', 'sessionExists'].every(
    (m) => typeof v[m] === 'function',
  );
}
