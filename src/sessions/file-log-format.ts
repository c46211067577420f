/**
 * The on-disk format of one session: a JSON Lines file, one record per line.
 *
 *   {"t":"h", ...}  header, always the first line: id, creation time, cursor base, fence,
 *                   metadata and recent inbound ids carried over from before the last compaction
 *   {"t":"c", ...}  a commit: one or more entries with consecutive cursors from `c`
 *   {"t":"m", ...}  a metadata patch
 *
 * A record is one line written by one write(2) under the session lock, so a crash leaves at
 * most one incomplete last line; it is detected (no newline or not JSON) and cut off on load.
 */
import type { Metadata, Role, SessionEntry } from '../core/session-store.js';

export const FORMAT_VERSION = 1;

export interface HeaderRecord {
  t: 'h';
  /**
   * Random tag, new for every version of the file (creation, compaction, clear). It is written
   * right after `t`, so the first bytes of the file identify its version: a reader with cached
   * state notices a replaced file even when the file system reuses the old inode number.
   */
  g?: string;
  v: number;
  id: string;
  created: number;
  /** Highest cursor committed before this file's first record. */
  base: number;
  /**
   * Entries with cursor ≤ `from` are kept only because a snapshot or fork holds them
   * (retention-holds.ts): stored, not served. Absent: `base` (nothing held).
   */
  from?: number;
  fence: number;
  meta: Metadata;
  /** Recent inbound ids with the first cursor they got, oldest first. */
  ids: Array<[string, number]>;
}

export interface CommitRecord {
  t: 'c';
  /** Cursor of the first entry. */
  c: number;
  ts: number;
  in?: string;
  f?: number;
  e: Array<{ r: Role; m: string; md?: Metadata }>;
}

export interface MetaRecord {
  t: 'm';
  ts: number;
  meta: Metadata;
}

export type LogRecord = HeaderRecord | CommitRecord | MetaRecord;

export function serialize(record: LogRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Parse one line; null when it is not a well-formed record. */
export function parseRecord(line: string): LogRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const t = (value as { t?: unknown }).t;
  if (t === 'c') {
    const r = value as CommitRecord;
    return Number.isInteger(r.c) && Array.isArray(r.e) && r.e.length > 0 && r.e.every(isStoredEntry) ? r : null;
  }
  if (t === 'h') {
    const h = value as HeaderRecord;
    return typeof h.id === 'string' && (h.ids === undefined || Array.isArray(h.ids)) && (h.meta === undefined || isPlainObject(h.meta)) ? h : null;
  }
  if (t === 'm') return isPlainObject((value as MetaRecord).meta) ? (value as MetaRecord) : null;
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A damaged or hand-edited line can be valid JSON and still not a record: never serve it. */
function isStoredEntry(e: unknown): boolean {
  return isPlainObject(e) && typeof e.r === 'string' && typeof e.m === 'string' && (e.md === undefined || isPlainObject(e.md));
}

export function entriesOf(record: CommitRecord): SessionEntry[] {
  return record.e.map((e, i) => ({
    cursor: record.c + i,
    role: e.r,
    content: e.m,
    ts: record.ts,
    ...(e.md ? { metadata: e.md } : {}),
  }));
}

/** Apply a metadata patch: shallow merge; null removes a key. */
export function mergeMetadata(base: Metadata, patch: Metadata): Metadata {
  const out: Metadata = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
