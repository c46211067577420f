/**
 * Reading session log files: the full scan that rebuilds a session's state, the incremental
 * scan of bytes appended since, and a backwards reader that serves "the last N" without
 * touching the rest of the file (so reads cost what they return, not the history length).
 */
import fs, { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Metadata, SessionEntry } from '../core/session-store.js';
import { StoreError } from '../core/errors.js';
import { FORMAT_VERSION, entriesOf, mergeMetadata, parseRecord, type CommitRecord, type HeaderRecord, type LogRecord } from './file-log-format.js';

/** Bounded memory of committed inbound ids per session (older redeliveries are caught at ingress). */
export const RECENT_INBOUND_IDS = 1000;

/** What the store keeps in memory per session: enough to append without reading the file. */
export interface LogState {
  ino: number;
  /** Bytes of complete records consumed so far. */
  size: number;
  id: string;
  createdAt: number;
  updatedAt: number;
  meta: Metadata;
  lastCursor: number;
  fence: number;
  /** Message entries in the file (kept, not yet compacted away). */
  count: number;
  /** Entries with cursor ≤ this are kept only for holds (retention-holds.ts), not served. */
  servedFrom: number;
  /** How many of `count` are such held entries. */
  heldCount: number;
  /** Metadata records in the file since the header (compaction folds them into it). */
  metaRecords: number;
  ids: Map<string, number>;
  /** The file's first bytes when this state was built (they hold the header's `g` tag). */
  head?: Buffer;
  /** Lines the last scan ignored as damage (garbage, out of order); reads then go the careful way. */
  damaged: number;
  /** `size` when a checkpoint (file-log-checkpoint.ts) was last written from this state. */
  checkpointed?: number;
}

export function stateFromHeader(h: HeaderRecord, ino: number): LogState {
  return {
    ino,
    size: 0,
    id: h.id,
    createdAt: h.created,
    updatedAt: h.created,
    meta: h.meta ?? {},
    lastCursor: h.base ?? 0,
    fence: h.fence ?? 0,
    count: 0,
    servedFrom: h.from ?? h.base ?? 0,
    heldCount: 0,
    metaRecords: 0,
    ids: new Map(h.ids ?? []),
    damaged: 0,
  };
}

export function rememberInboundId(state: LogState, id: string, cursor: number): void {
  state.ids.set(id, cursor);
  if (state.ids.size > RECENT_INBOUND_IDS) {
    const oldest = state.ids.keys().next().value;
    if (oldest !== undefined) state.ids.delete(oldest);
  }
}

export function applyRecord(state: LogState, rec: LogRecord): void {
  if (rec.t === 'c') {
    state.lastCursor = Math.max(state.lastCursor, rec.c + rec.e.length - 1);
    state.count += rec.e.length;
    state.heldCount += Math.max(0, Math.min(rec.e.length, state.servedFrom - rec.c + 1));
    state.updatedAt = Math.max(state.updatedAt, rec.ts);
    if (rec.in !== undefined) rememberInboundId(state, rec.in, rec.c);
    if (rec.f !== undefined) state.fence = Math.max(state.fence, rec.f);
  } else if (rec.t === 'm') {
    state.meta = mergeMetadata(state.meta, rec.meta);
    state.metaRecords++;
    state.updatedAt = Math.max(state.updatedAt, rec.ts);
  }
}

export interface ScanResult {
  records: LogRecord[];
  /** Offset just past the last complete line. */
  completeBytes: number;
  /** Bytes after the last newline: an append in progress, or a torn write by a dead writer. */
  tornBytes: number;
  /** Complete lines that were not valid records (disk damage or foreign edits). */
  corruptLines: number;
  /**
   * Commit records whose cursors do not increase (a line copied by hand, a foreign edit): a
   * session's cursors only ever grow, so such a record is damage, dropped like a corrupt line.
   */
  outOfOrder: number;
}

/**
 * Parse a buffer of log lines; the text after the last newline is reported as torn. `highest` is
 * the highest cursor before the buffer (a header in it raises it to its base).
 */
export function scanBuffer(buf: Buffer, highest = 0): ScanResult {
  const lastNewline = buf.lastIndexOf(0x0a);
  const completeBytes = lastNewline + 1;
  const records: LogRecord[] = [];
  let corruptLines = 0;
  let outOfOrder = 0;
  let start = 0;
  while (start < completeBytes) {
    const end = buf.indexOf(0x0a, start);
    if (end > start) {
      const rec = parseRecord(buf.toString('utf8', start, end));
      if (!rec) corruptLines++;
      else if (rec.t === 'c' && rec.c <= highest) outOfOrder++;
      else {
        if (rec.t === 'h') highest = Math.max(highest, rec.base ?? 0);
        if (rec.t === 'c') highest = rec.c + rec.e.length - 1;
        records.push(rec);
      }
    }
    start = end + 1;
  }
  return { records, completeBytes, tornBytes: buf.length - completeBytes, corruptLines, outOfOrder };
}

/** The message entries of a whole file read forward, without damage (what `scanBuffer` keeps). */
export async function entriesForward(fh: FileHandle, size: number): Promise<SessionEntry[]> {
  const out: SessionEntry[] = [];
  for (const rec of scanBuffer(await readRange(fh, 0, size)).records) if (rec.t === 'c') out.push(...entriesOf(rec));
  return out;
}

/** Ranges up to this size are read synchronously by `readRangeQuickly`: microseconds from the page cache. */
const QUICK_READ_BYTES = 64 * 1024;

/**
 * `readRange`, synchronously when the range is small: a writer's refresh under the lock reads
 * what others appended since (a few records), and a thread-pool round trip would cost more
 * than the read and keep the lock held meanwhile.
 */
export async function readRangeQuickly(fh: FileHandle, from: number, to: number): Promise<Buffer> {
  if (to - from > QUICK_READ_BYTES) return readRange(fh, from, to);
  const buf = Buffer.allocUnsafe(to - from);
  let off = 0;
  while (off < buf.length) {
    const bytesRead = fs.readSync(fh.fd, buf, off, buf.length - off, from + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

export async function readRange(fh: FileHandle, from: number, to: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(to - from);
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, from + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

const CHUNK = 64 * 1024;

/**
 * Yield complete lines from the end of the file towards the start. The text after the last
 * newline is skipped: it is an append still being written (or a torn one).
 */
export async function* linesBackward(fh: FileHandle, size: number): AsyncGenerator<string> {
  let pos = size;
  let buf: Buffer = Buffer.alloc(0);
  // Index in buf where the not-yet-yielded text ends (exclusive); -1 until the last newline is found.
  let end = -1;
  for (;;) {
    if (end < 0) end = buf.lastIndexOf(0x0a);
    if (end >= 0) {
      let nl = end > 0 ? buf.lastIndexOf(0x0a, end - 1) : -1;
      while (nl >= 0) {
        if (end > nl + 1) yield buf.toString('utf8', nl + 1, end);
        end = nl;
        nl = end > 0 ? buf.lastIndexOf(0x0a, end - 1) : -1;
      }
    }
    if (pos === 0) {
      if (end > 0) yield buf.toString('utf8', 0, end);
      return;
    }
    const from = Math.max(0, pos - CHUNK);
    const chunk = await readRange(fh, from, pos);
    pos = from;
    if (end >= 0) {
      buf = Buffer.concat([chunk, buf.subarray(0, end)]);
      end = buf.length;
    } else {
      buf = Buffer.concat([chunk, buf]);
    }
  }
}

/**
 * Message entries from the end backwards until `stop` says enough, returned oldest first. Only
 * the oldest `keep` of those are kept (memory is bounded by `keep`, not by how far back the
 * scan goes); `stop` sees how many were passed so far. Lines that are not records are skipped
 * (the writer repairs them under the lock).
 */
export async function collectBackward(
  fh: FileHandle,
  size: number,
  stop: (entry: SessionEntry, passed: number) => boolean,
  keep = Infinity,
): Promise<SessionEntry[]> {
  if (keep <= 0) return [];
  let out: SessionEntry[] = []; // newest first
  let passed = 0;
  const oldestFirst = () => (out.length > keep ? out.slice(-keep) : out).reverse();
  for await (const line of linesBackward(fh, size)) {
    const rec = parseRecord(line);
    if (!rec || rec.t !== 'c') continue;
    const entries = entriesOf(rec);
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (stop(entry, passed)) return oldestFirst();
      out.push(entry);
      passed++;
      if (out.length >= 2 * keep) out = out.slice(-keep);
    }
  }
  return oldestFirst();
}

/**
 * The state of a file from its records (header first, which is consumed). A damaged header is
 * rebuilt from the intact records with a warning; creation itself is atomic, so that only
 * happens after disk damage or a foreign edit.
 */
export function stateFromRecords(
  records: LogRecord[],
  ctx: { sessionId: string | undefined; file: string; ino: number; fallbackId: string; warn(message: string): void },
): LogState {
  const first = records[0];
  if (first?.t === 'h') {
    if (ctx.sessionId !== undefined && first.id !== ctx.sessionId) {
      throw new StoreError(`session file ${ctx.file} belongs to "${first.id}", not "${ctx.sessionId}"`);
    }
    records.shift();
    return stateFromHeader(first, ctx.ino);
  }
  ctx.warn(`session file ${ctx.file}: header damaged; rebuilt from the intact records`);
  const firstCommit = records.find((r): r is CommitRecord => r.t === 'c');
  return stateFromHeader(
    { t: 'h', v: FORMAT_VERSION, id: ctx.sessionId ?? ctx.fallbackId, created: firstCommit?.ts ?? Date.now(), base: (firstCommit?.c ?? 1) - 1, fence: 0, meta: {}, ids: [] },
    ctx.ino,
  );
}

/** Run `fn` on a read handle of `file` and its size ([] when the file does not exist). */
export async function withReadHandle<T>(file: string, fn: (fh: FileHandle, size: number) => Promise<T[]>): Promise<T[]> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StoreError(`could not open ${file}`, { cause: err });
  }
  try {
    return await fn(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}
