/**
 * Rows of the Postgres session store decoded into the store contract's shapes, and Postgres
 * errors turned into StoreError with a message an operator can act on.
 */
import { BotHostError, StoreError } from '../core/errors.js';
import type { Metadata, Role, SessionEntry, SessionInfo } from '../core/session-store.js';

export interface SessionRow {
  id: Buffer;
  created_at: string;
  updated_at: string;
  last_cursor: string;
  kept_from: string;
  metadata: string;
  /** Entries kept below kept_from for retention holds (getSession only). */
  held?: string;
}
export interface EntryRow {
  cursor: string;
  ts: string;
  role: Role;
  content: Buffer;
  metadata: string | null;
}

export function wrap(what: string, cause: unknown): Error {
  if (cause instanceof BotHostError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  // A SQLSTATE outside classes 08 (connection exception) and 57 (operator intervention: the
  // server shutting down or restarting) means Postgres answered the query: say so.
  const sqlState = (cause as { code?: unknown })?.code;
  const answered = typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) && !/^(08|57)/.test(sqlState);
  const hint = answered ? `(SQLSTATE ${sqlState})` : '; check that Postgres is reachable and store.url is right';
  return new StoreError(`Postgres ${what} failed: ${reason}${answered ? ' ' : ''}${hint}`, { cause });
}

export function toJson(value: unknown, what: string, code: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new BotHostError(code, `${what} cannot be stored as JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function toEntry(r: EntryRow): SessionEntry {
  return {
    cursor: Number(r.cursor),
    role: r.role,
    content: r.content.toString('utf8'),
    ts: Number(r.ts),
    ...(r.metadata === null ? {} : { metadata: JSON.parse(r.metadata) as Metadata }),
  };
}

export function toInfo(r: SessionRow): SessionInfo {
  const last = Number(r.last_cursor);
  return {
    id: r.id.toString('utf8'),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    messageCount: Math.max(0, last - Number(r.kept_from) + 1),
    lastCursor: last,
    metadata: JSON.parse(r.metadata) as Metadata,
    ...(Number(r.held ?? 0) > 0 ? { heldCount: Number(r.held) } : {}),
  };
}
