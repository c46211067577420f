/**
 * The hierarchy's side of retention holds (../retention-holds.ts): every snapshot and every
 * stored view puts a hold on the log ranges it shows, in the metadata of the session whose log
 * holds them, so the stores keep those entries however far `max_messages` trims the rest.
 *
 *   snapshot <snap> of <session>   key  hierarchy.hold.snapshot:<snap>@<session>
 *   the stored view of <session>   key  hierarchy.hold.view@<session>   (its closed ranges)
 *
 * A hold is written before what needs it (so no trim can slip in between) and removed after it
 * is gone; a crash in between leaves a hold that only keeps entries longer, never a hole.
 */
import type { Metadata, SessionInfo, SessionLog } from '../../core/session-store.js';
import { HOLD_PREFIX, heldRanges, type HeldRange } from '../retention-holds.js';
import type { ViewRange } from './view.js';

export const snapshotHolder = (sessionId: string, snapshotId: string) => `${HOLD_PREFIX}snapshot:${snapshotId}@${sessionId}`;
export const viewHolder = (sessionId: string) => `${HOLD_PREFIX}view@${sessionId}`;

/** The closed ranges of `ranges` per source session, as hold values. */
export function holdsBySource(ranges: readonly ViewRange[]): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const r of ranges) {
    if (r.u === null || r.u <= r.a) continue;
    const list = out.get(r.s) ?? [];
    list.push([r.a, r.u]);
    out.set(r.s, list);
  }
  return out;
}

/**
 * Set hold `key` to exactly `ranges` (closed ones; open ranges are the own served window) and
 * remove it from `previousSources` the new ranges no longer touch. Sessions that do not exist
 * are skipped (a hold must not create a session).
 */
export async function writeHolds(
  store: Pick<SessionLog, 'updateMetadata' | 'sessionExists'>,
  key: string,
  ranges: readonly ViewRange[],
  previousSources: Iterable<string> = [],
): Promise<void> {
  const next = holdsBySource(ranges);
  const patches = new Map<string, Metadata>();
  for (const s of previousSources) if (!next.has(s)) patches.set(s, { [key]: null });
  for (const [s, value] of next) patches.set(s, { [key]: value });
  await Promise.all(
    [...patches].map(async ([s, patch]) => {
      if (await store.sessionExists(s)) await store.updateMetadata(s, patch);
    }),
  );
}

/** Remove hold `key` from every session in `sources`. */
export async function releaseHolds(store: Pick<SessionLog, 'updateMetadata' | 'sessionExists'>, key: string, sources: Iterable<string>): Promise<void> {
  await writeHolds(store, key, [], sources);
}

/** The sources of a list of ranges (closed ones). */
export function closedSources(ranges: readonly ViewRange[]): string[] {
  return [...holdsBySource(ranges).keys()];
}

/** The ranges of `info`'s log its holds cover, other than hold `except` (its own, just written). */
export function heldByOthers(info: SessionInfo, except?: string): HeldRange[] {
  if (except === undefined || !(except in info.metadata)) return heldRanges(info.metadata);
  const { [except]: _mine, ...rest } = info.metadata;
  return heldRanges(rest);
}
