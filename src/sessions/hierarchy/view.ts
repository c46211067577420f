/**
 * A session's *view*: what its history is, as a short list of ranges of session logs.
 *
 * Every store keeps a log per session whose cursors only grow and whose kept entries are a
 * consecutive run ending at the last cursor (commits append consecutive cursors; trimming and
 * clearing only ever drop the oldest). A range `(s, a, u, b)` means "the entries of session
 * `s` with cursor in (a, u]", shown at view cursors b+1 … b+(u−a). The last range is open
 * (`u: null`) on the session's own log: it grows as the session is written to.
 *
 * View cursors are what the hierarchy API speaks (fork from, revert to, entries after): they
 * are monotonic and never reused within a session, like store cursors, and for a session that
 * was never forked or reverted they *are* its store cursors. A fork inherits its parent's
 * view cursors up to the fork point and continues after it; a revert opens a new range whose
 * cursors continue after the highest one ever shown, so a cursor always names one message.
 *
 * All functions here are pure: no I/O, easy to test against a model.
 */

export interface ViewRange {
  /** Session whose log holds the entries. */
  s: string;
  /** Entries with store cursor > a … */
  a: number;
  /** … and ≤ u; null: open, up to the log's last cursor (only the last range, on the own log). */
  u: number | null;
  /** View cursor just before the range's first entry. */
  b: number;
}

export type View = readonly ViewRange[];

/** One read a view needs: `count` entries of `source` after store cursor `after`. */
export interface ReadSegment {
  source: string;
  after: number;
  count: number;
  /** View cursor = store cursor + shift. */
  shift: number;
}

/** The view of a session that has none stored: its own kept entries, cursors unchanged. */
export function implicitView(sessionId: string, lastCursor: number, messageCount: number): View {
  const a = Math.max(0, lastCursor - messageCount);
  return [{ s: sessionId, a, u: null, b: a }];
}

export function rangeLength(r: ViewRange, ownLast: number): number {
  return r.u === null ? Math.max(0, ownLast - r.a) : r.u - r.a;
}

/** Messages in the whole view (assuming every referenced entry is still stored). */
export function viewLength(view: View, ownLast: number): number {
  let n = 0;
  for (const r of view) n += rangeLength(r, ownLast);
  return n;
}

/** The highest view cursor this view has ever shown (0 when none): new entries get more. */
export function lastIssued(view: View, ownLast: number): number {
  const last = view[view.length - 1];
  return last ? last.b + rangeLength(last, ownLast) : 0;
}

/**
 * The reads that return the newest `window` messages of the view with view cursor > `after`,
 * at most `limit` of them, oldest first.
 */
export function planRead(view: View, ownLast: number, options: { window: number; after?: number; limit?: number }): ReadSegment[] {
  const after = options.after ?? 0;
  let remaining = options.limit ?? Infinity;
  const total = viewLength(view, ownLast);
  const windowStart = Math.max(0, total - Math.max(0, options.window));
  const segments: ReadSegment[] = [];
  let position = 0;
  for (const r of view) {
    const len = rangeLength(r, ownLast);
    // k indexes the range's entries: store cursor a+1+k, view cursor b+1+k.
    const from = Math.max(0, windowStart - position, after - r.b);
    const count = Math.min(len - from, remaining);
    position += len;
    if (count <= 0) continue;
    segments.push({ source: r.s, after: r.a + from, count, shift: r.b - r.a });
    remaining -= count;
    if (remaining <= 0) break;
  }
  return segments;
}

/** Whether `cursor` names a message of the view (0 names the empty start). */
export function containsCursor(view: View, ownLast: number, cursor: number): boolean {
  if (cursor === 0) return true;
  return view.some((r) => cursor > r.b && cursor <= r.b + rangeLength(r, ownLast));
}

/** The view's messages up to and including view cursor `cursor`, every range closed. */
export function cutView(view: View, ownLast: number, cursor: number): ViewRange[] {
  const out: ViewRange[] = [];
  for (const r of view) {
    const len = rangeLength(r, ownLast);
    if (cursor <= r.b || len === 0) continue;
    const take = Math.min(len, cursor - r.b);
    out.push({ s: r.s, a: r.a, u: r.a + take, b: r.b });
  }
  return out;
}

/** `closed` followed by a new open range on `self` starting after its last cursor. */
export function withOpenRange(closed: readonly ViewRange[], self: string, ownLast: number, base: number): ViewRange[] {
  return [...closed, { s: self, a: ownLast, u: null, b: base }];
}

/** The store sessions a view reads from (itself included when it has own entries). */
export function sourcesOf(view: View): string[] {
  return [...new Set(view.map((r) => r.s))];
}

/**
 * The view cursor of the message at `index` (0-based) of the newest `window` messages, or
 * null when there is no such message.
 */
export function cursorAtIndex(view: View, ownLast: number, window: number, index: number): number | null {
  const total = viewLength(view, ownLast);
  const start = Math.max(0, total - window);
  const position = start + index;
  if (!Number.isSafeInteger(index) || index < 0 || position >= total) return null;
  let p = 0;
  for (const r of view) {
    const len = rangeLength(r, ownLast);
    if (position < p + len) return r.b + 1 + (position - p);
    p += len;
  }
  return null;
}

/**
 * Drop ranges that lie wholly before the newest `window` messages (they can never be read
 * again), so a view stays short however often a session is reverted.
 */
export function trimToWindow(view: View, ownLast: number, window: number): ViewRange[] {
  const total = viewLength(view, ownLast);
  let drop = Math.max(0, total - window);
  const out: ViewRange[] = [];
  for (const r of view) {
    const len = rangeLength(r, ownLast);
    if (drop >= len && r.u !== null) {
      drop -= len;
      continue;
    }
    drop = 0;
    out.push(r);
  }
  return out;
}

/** The view cursor of the session's own store cursor `c` (unchanged if its range left the view). */
export function storeToViewCursor(view: View, self: string, c: number): number {
  for (const r of view) {
    if (r.s === self && c > r.a && (r.u === null || c <= r.u)) return c + r.b - r.a;
  }
  return c;
}
