/**
 * Reading a view from the stores: one `getEntries` per range that contributes (in parallel),
 * each checked to be complete. A session's history is never served with a hole in it: if a
 * range's entries are no longer stored, the read fails with HISTORY_UNAVAILABLE.
 */
import type { SessionEntry, SessionInfo, SessionLog } from '../../core/session-store.js';
import { HistoryUnavailableError } from './errors.js';
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
  const parts = await Promise.all(segments.map((seg) => store.getEntries(seg.source, { after: seg.after, limit: seg.count })));
  const out: SessionEntry[] = [];
  segments.forEach((seg, i) => {
    const got = parts[i]!;
    const to = seg.after + seg.count;
    if (got.length !== seg.count || got[0]!.cursor !== seg.after + 1 || got[got.length - 1]!.cursor !== to) {
      // Stores only ever drop their oldest entries, so what is missing is the start of the range.
      const firstGot = got[0]?.cursor ?? Infinity;
      throw new HistoryUnavailableError(sessionId, seg.source, seg.after + 1, Math.min(to, firstGot - 1), WHY_GONE);
    }
    for (const e of got) out.push({ ...e, cursor: e.cursor + seg.shift });
  });
  return out;
}

/**
 * Checks, without reading messages, that every entry the newest `window` messages of `view`
 * need is still stored: O(sessions the view reads from), whatever the history's length. Used
 * before a fork or a revert is written, so neither ever creates a history that cannot be read.
 */
export async function assertReadable(
  store: Pick<SessionLog, 'getSession'>,
  sessionId: string,
  view: View,
  ownLast: number,
  window: number,
  known: ReadonlyMap<string, SessionInfo> = new Map(),
): Promise<void> {
  const segments = planRead(view, ownLast, { window });
  const sources = sourcesOf(segments.map((s) => ({ s: s.source, a: 0, u: 0, b: 0 })));
  const infos = new Map(await Promise.all(sources.map(async (s) => [s, known.get(s) ?? (await store.getSession(s))] as const)));
  for (const seg of segments) {
    const info = infos.get(seg.source);
    const firstKept = info ? info.lastCursor - info.messageCount + 1 : Infinity;
    const last = info?.lastCursor ?? 0;
    // The own open range may be ahead of `ownLast` read earlier; other sources are closed ranges.
    if (seg.after + 1 < firstKept || (seg.source !== sessionId && seg.after + seg.count > last)) {
      const why = info ? WHY_GONE : 'does not exist (it was deleted outside the hierarchy)';
      const to = seg.after + seg.count;
      throw new HistoryUnavailableError(sessionId, seg.source, seg.after + 1, info && firstKept - 1 < to ? Math.max(seg.after + 1, firstKept - 1) : to, why);
    }
  }
}
