/**
 * Reading a view from the stores: one `getEntries` per range that contributes (in parallel),
 * each checked to be complete. A session's history is never served with a hole in it: if a
 * range's entries are no longer stored, the read fails with HISTORY_UNAVAILABLE.
 */
import type { SessionEntry, SessionInfo, SessionLog } from '../../core/session-store.js';
import type { HeldRange } from '../retention-holds.js';
import { HistoryUnavailableError } from './errors.js';
import { heldByOthers } from './holds.js';
import { planRead, sourcesOf, type View } from './view.js';

const WHY_GONE = 'that session no longer stores (trimmed by store.max_messages, or deleted or cleared outside the hierarchy)';

/** The newest `window` messages of `view` with view cursor > after (at most `limit`), oldest first. */
export async function readView(
  store: Pick<SessionLog, 'getEntries'>,
  sessionId: string,
  view: View,
  ownLast: number,
  options: { window: number; after?: number; limit?: number },
): Promise<SessionEntry[]> {
  const segments = planRead(view, ownLast, options);
  const parts = await Promise.all(segments.map((seg) => store.getEntries(seg.source, { after: seg.after, limit: seg.count, includeHeld: true })));
  const out: SessionEntry[] = [];
  segments.forEach((seg, i) => {
    const got = parts[i]!;
    const to = seg.after + seg.count;
    if (got.length !== seg.count || got[0]!.cursor !== seg.after + 1 || got[got.length - 1]!.cursor !== to) {
      // Name the first run of missing cursors.
      const have = new Set(got.map((e) => e.cursor));
      let from = seg.after + 1;
      while (from <= to && have.has(from)) from++;
      let until = from;
      while (until < to && !have.has(until + 1)) until++;
      throw new HistoryUnavailableError(sessionId, seg.source, from, until, WHY_GONE);
    }
    for (const e of got) out.push({ ...e, cursor: e.cursor + seg.shift });
  });
  return out;
}

/** How an entry outside a source's served window can still count as stored. */
export interface HeldCoverage {
  /** The hold just written for this view: it proves nothing about entries trimmed before it. */
  hold?: string;
  /** Per source, what `hold` covered before it was rewritten (those entries stayed held throughout). */
  previously?: ReadonlyMap<string, readonly HeldRange[]>;
}

/**
 * Checks, without reading messages, that every entry the newest `window` messages of `view`
 * need is still stored — in the source's served window or under a hold (retention-holds.ts):
 * O(sessions the view reads from), whatever the history's length. Used before a snapshot, a
 * fork or a revert is written, so none ever creates a history that cannot be read.
 */
export async function assertReadable(
  store: Pick<SessionLog, 'getSession'>,
  sessionId: string,
  view: View,
  ownLast: number,
  window: number,
  known: ReadonlyMap<string, SessionInfo> = new Map(),
  coverage: HeldCoverage = {},
): Promise<void> {
  const segments = planRead(view, ownLast, { window });
  const sources = sourcesOf(segments.map((s) => ({ s: s.source, a: 0, u: 0, b: 0 })));
  const infos = new Map(await Promise.all(sources.map(async (s) => [s, known.get(s) ?? (await store.getSession(s))] as const)));
  for (const seg of segments) {
    const info = infos.get(seg.source);
    const firstKept = info ? info.lastCursor - info.messageCount + 1 : Infinity;
    const last = info?.lastCursor ?? 0;
    const held = info ? [...heldByOthers(info, coverage.hold), ...(coverage.previously?.get(seg.source) ?? [])] : [];
    let firstMissing = seg.after + 1;
    const covered = (c: number) => held.some(([a, u]) => c > a && c <= u);
    while (firstMissing < Math.min(firstKept, seg.after + seg.count + 1) && covered(firstMissing)) firstMissing++;
    // The own open range may be ahead of `ownLast` read earlier; other sources are closed ranges.
    if ((firstMissing < firstKept && firstMissing <= seg.after + seg.count) || (seg.source !== sessionId && seg.after + seg.count > last)) {
      const why = info ? WHY_GONE : 'does not exist (it was deleted outside the hierarchy)';
      const to = seg.after + seg.count;
      throw new HistoryUnavailableError(sessionId, seg.source, firstMissing, info && firstKept - 1 < to ? Math.max(firstMissing, firstKept - 1) : to, why);
    }
  }
}
