/**
 * Compaction of session files: when more than `maxMessages` + slack entries pile up, the file
 * is rewritten to the served window plus the older entries a hold covers (retention-holds.ts),
 * by write-temp → fsync → rename → fsync dir, so a session is always its old or its new state.
 * The caller holds the file's lock.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { NewEntry, SessionEntry } from '../core/session-store.js';
import { replaceFile } from './atomic-file.js';
import { FORMAT_VERSION, serialize, type CommitRecord, type HeaderRecord } from './file-log-format.js';
import type { LogHandles } from './file-log-handles.js';
import { collectBackward, entriesForward, rememberInboundId, stateFromHeader, withReadHandle, type LogState } from './file-log-reader.js';
import { heldRanges, isHeld } from './retention-holds.js';

/** What compaction needs of the store's file access (file-log-access.ts passes itself). */
export interface CompactionTarget {
  readonly maxMessages: number;
  readonly durable: boolean;
  readonly logger: { warn(message: string): void };
  /** Open handles: a rewritten file's old one is dropped. */
  readonly handles: Pick<LogHandles, 'drop'>;
  /** Cached tail states by file: a rewritten file's is replaced. */
  readonly states: Map<string, LogState>;
}

/** How many leading bytes identify a version of a file (they cover the header's `g` tag). */
export const HEAD_BYTES = 48;

/** A new tag for a file version's header (tells a replaced file from the one a state was built from). */
export const newGeneration = () => randomBytes(8).toString('hex');

/** Entries with cursor ≤ this are not served: trimmed by `maxMessages`, or kept only for holds. */
export function servedFloor(state: LogState, maxMessages: number): number {
  return Math.max(state.servedFrom, state.lastCursor - maxMessages);
}

/**
 * Compact when more than `maxMessages` + slack entries (or metadata records) pile up. It runs
 * after a durable append, so a failure (disk full) is logged, not reported as a failed write:
 * the append stands and the next write tries again.
 */
export async function compactIfDue(log: CompactionTarget, file: string, state: LogState): Promise<void> {
  if (state.count - state.heldCount + state.metaRecords <= log.maxMessages + Math.max(50, log.maxMessages >> 1)) return;
  try {
    await compact(log, file, state);
  } catch (err) {
    log.logger.warn(`session file ${file}: compaction failed (will retry on the next write): ${(err as Error).message}`);
  }
}

/** Rewrite the file to the served window plus the older entries a hold covers now. */
export async function compact(log: CompactionTarget, file: string, state: LogState): Promise<void> {
  const floor = servedFloor(state, log.maxMessages);
  const holds = heldRanges(state.meta);
  const keep = (e: SessionEntry) => e.cursor > floor || isHeld(holds, e.cursor);
  const kept =
    state.damaged > 0 || holds.length > 0
      ? (await withReadHandle(file, state.damaged > 0 ? entriesForward : (fh, size) => collectBackward(fh, size, (e) => e.cursor <= Math.min(floor, holds[0]![0])))).filter(keep)
      : await withReadHandle(file, (fh, size) => collectBackward(fh, size, (e) => e.cursor <= floor));
  await rewrite(log, file, state, kept, floor);
}

/**
 * Replace the file with header + `kept`, carrying over cursor, fence, metadata and ids.
 * Entries of `kept` with cursor ≤ `servedFrom` are held ones (stored, not served).
 */
export async function rewrite(log: CompactionTarget, file: string, state: LogState, kept: SessionEntry[], servedFrom = state.lastCursor): Promise<void> {
  const base = kept.length ? kept[0]!.cursor - 1 : state.lastCursor;
  const header: HeaderRecord = {
    t: 'h',
    g: newGeneration(),
    v: FORMAT_VERSION,
    id: state.id,
    created: state.createdAt,
    base,
    ...(servedFrom > base ? { from: servedFrom } : {}),
    fence: state.fence,
    meta: state.meta,
    ids: [...state.ids],
  };
  const lines = [serialize(header)];
  for (const e of kept) {
    lines.push(serialize({ t: 'c', c: e.cursor, ts: e.ts, e: [toStored(e)] }));
  }
  await replaceFile(file, lines.join(''), log.durable);
  log.handles.drop(file);
  const { ino, size } = await fsp.stat(file);
  const next = stateFromHeader(header, ino);
  next.size = size;
  next.checkpointed = 0; // a new file version: the old checkpoint no longer matches
  next.head = Buffer.from(Buffer.from(lines[0]!, 'utf8').subarray(0, HEAD_BYTES)); // a copy, not a view
  next.lastCursor = state.lastCursor;
  next.count = kept.length;
  next.heldCount = kept.filter((e) => e.cursor <= next.servedFrom).length;
  next.updatedAt = state.updatedAt;
  for (const [id, c] of state.ids) rememberInboundId(next, id, c);
  log.states.set(file, next);
  Object.assign(state, next);
}

/** A stored entry as a commit record carries it. */
export function toStored(e: NewEntry): CommitRecord['e'][number] {
  return { r: e.role, m: e.content, ...(e.metadata && Object.keys(e.metadata).length ? { md: e.metadata } : {}) };
}
