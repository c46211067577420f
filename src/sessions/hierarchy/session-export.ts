/**
 * The export format of one session (JSON, versioned), and how it is read back.
 *
 * A session's view cursors are unique per session (a cursor always names one message), so an
 * export is: every message the current history and the snapshots show, once each, by cursor;
 * and for the history and each snapshot, which cursors it shows (as runs `[from, to]`). Import
 * writes those messages to the new session's own log in cursor order and rebuilds each view
 * as ranges of that log with the original cursors, so the imported session shows the same
 * messages under the same cursors, and its snapshots revert exactly as before.
 */
import type { Metadata, Role, SessionEntry } from '../../core/session-store.js';
import { ImportFormatError } from './errors.js';
import type { ViewRange } from './view.js';

export const EXPORT_FORMAT = 'bothost-session';
export const EXPORT_VERSION = 1;

export type CursorRun = [from: number, to: number];

export interface ExportedMessage {
  cursor: number;
  role: Role;
  content: string;
  ts: number;
  metadata?: Metadata;
}

export interface SessionExport {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: number;
  session: {
    id: string;
    title?: string;
    createdAt: number;
    updatedAt: number;
    /** The highest cursor the session had shown; imported sessions continue after it. */
    lastCursor: number;
    /** Metadata other than the hierarchy's own. */
    metadata: Metadata;
    /** Lineage, for the reader: imports do not re-link to a parent. */
    parentId?: string;
    forkedAtCursor?: number;
  };
  messages: ExportedMessage[];
  /** Cursors of the current history. */
  history: CursorRun[];
  snapshots: Array<{ id: string; label: string; createdAt: number; cursor: number; runs: CursorRun[] }>;
}

/** Runs of consecutive cursors, in order. */
export function toRuns(entries: readonly { cursor: number }[]): CursorRun[] {
  const runs: CursorRun[] = [];
  for (const { cursor } of entries) {
    const last = runs[runs.length - 1];
    if (last && cursor === last[1] + 1) last[1] = cursor;
    else runs.push([cursor, cursor]);
  }
  return runs;
}

/** Every distinct message of the given sequences, by cursor. */
export function unionByCursor(sequences: readonly (readonly SessionEntry[])[]): ExportedMessage[] {
  const byCursor = new Map<number, ExportedMessage>();
  for (const seq of sequences) {
    for (const e of seq) {
      byCursor.set(e.cursor, { cursor: e.cursor, role: e.role, content: e.content, ts: e.ts, ...(e.metadata ? { metadata: e.metadata } : {}) });
    }
  }
  return [...byCursor.values()].sort((a, b) => a.cursor - b.cursor);
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const isCursor = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks an untrusted parsed JSON value; every problem is named with its place in the file. */
export function parseExport(value: unknown): SessionExport {
  if (!isObject(value) || value.format !== EXPORT_FORMAT) throw new ImportFormatError(`not a bothost session export (expected "format": "${EXPORT_FORMAT}")`);
  if (value.version !== EXPORT_VERSION) throw new ImportFormatError(`export version ${JSON.stringify(value.version)} is not supported; this build reads version ${EXPORT_VERSION}`);
  const session = value.session;
  if (!isObject(session) || typeof session.id !== 'string' || !Number.isSafeInteger(session.lastCursor)) throw new ImportFormatError('"session" must have an "id" and a "lastCursor"');
  if (session.metadata !== undefined && !isObject(session.metadata)) throw new ImportFormatError('"session.metadata" must be an object');
  if (session.title !== undefined && typeof session.title !== 'string') throw new ImportFormatError('"session.title" must be a string');
  if (!Array.isArray(value.messages)) throw new ImportFormatError('"messages" must be an array');
  let previous = 0;
  value.messages.forEach((m: unknown, i) => {
    const where = `messages[${i}]`;
    if (!isObject(m) || !isCursor(m.cursor)) throw new ImportFormatError(`${where}.cursor must be a positive integer`);
    if (m.cursor <= previous) throw new ImportFormatError(`${where}.cursor ${m.cursor} is not greater than the one before (${previous})`);
    previous = m.cursor;
    if (!ROLES.has(m.role as string)) throw new ImportFormatError(`${where}.role must be one of ${[...ROLES].join(', ')}`);
    if (typeof m.content !== 'string') throw new ImportFormatError(`${where}.content must be a string`);
    if (m.metadata !== undefined && !isObject(m.metadata)) throw new ImportFormatError(`${where}.metadata must be an object`);
  });
  if (previous > (session.lastCursor as number)) throw new ImportFormatError(`"session.lastCursor" (${session.lastCursor}) is below the highest message cursor (${previous})`);
  const cursors = new Set((value.messages as ExportedMessage[]).map((m) => m.cursor));
  const checkRuns = (runs: unknown, where: string) => {
    if (!Array.isArray(runs)) throw new ImportFormatError(`${where} must be an array of [from, to] cursor runs`);
    let last = 0;
    runs.forEach((r: unknown, i) => {
      if (!Array.isArray(r) || r.length !== 2 || !isCursor(r[0]) || !isCursor(r[1]) || r[1] < r[0] || r[0] <= last) {
        throw new ImportFormatError(`${where}[${i}] must be [from, to] with from ≤ to, after the run before`);
      }
      for (let c = r[0]; c <= r[1]; c++) if (!cursors.has(c)) throw new ImportFormatError(`${where}[${i}] names cursor ${c}, which is not among "messages"`);
      last = r[1];
    });
  };
  checkRuns(value.history, 'history');
  if (!Array.isArray(value.snapshots)) throw new ImportFormatError('"snapshots" must be an array');
  value.snapshots.forEach((s: unknown, i) => {
    if (!isObject(s) || typeof s.id !== 'string' || s.id.length === 0) throw new ImportFormatError(`snapshots[${i}].id must be a non-empty string`);
    checkRuns(s.runs, `snapshots[${i}].runs`);
  });
  return value as unknown as SessionExport;
}

/**
 * Ranges of the importing session's own log showing `runs`, given the own cursor each
 * exported cursor was written at (consecutive exported cursors were written consecutively).
 */
export function runsToRanges(sessionId: string, runs: readonly CursorRun[], ownCursorOf: ReadonlyMap<number, number>): ViewRange[] {
  return runs.map(([from, to]) => {
    const a = ownCursorOf.get(from)! - 1;
    return { s: sessionId, a, u: a + (to - from + 1), b: from - 1 };
  });
}
