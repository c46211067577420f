/**
 * Retention holds: entries a store keeps beyond `maxMessages` because a snapshot or a fork
 * still shows them.
 *
 * A hold is a metadata key of the session whose log holds the entries (the *source*):
 *
 *   hierarchy.hold.<holder>   [[a, u], …]   keep this log's entries with cursor in (a, u]
 *
 * written by the hierarchy (`<holder>` names the snapshot or fork view it is for) and removed
 * when that snapshot or fork goes. Every store trims its served window to `maxMessages` as
 * before and keeps, besides it, exactly the trimmed entries some hold covers; a trim after a hold
 * is removed drops what only it kept. Held entries are stored, not served: they are read by
 * cursor (`getEntries` with `includeHeld`), never part of `getChatHistory` or `messageCount`.
 * The metadata is the one place this lives, so it survives restarts and compaction. A hold
 * always means its entries are stored: a store-level `clearSession` (which the hierarchy only
 * uses on sessions nothing depends on) drops the held entries *and* the holds, so a history that
 * needed them fails loudly (HISTORY_UNAVAILABLE) instead of trusting a hold that lies.
 */
import type { Metadata } from '../core/session-store.js';

export const HOLD_PREFIX = 'hierarchy.hold.';

/** A closed cursor range (a, u] of one log. */
export type HeldRange = readonly [a: number, u: number];

const isCursor = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The ranges every hold in `metadata` covers, merged and sorted; malformed holds are ignored. */
export function heldRanges(metadata: Metadata): HeldRange[] {
  const ranges: Array<[number, number]> = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith(HOLD_PREFIX) || !Array.isArray(value)) continue;
    for (const r of value) {
      if (Array.isArray(r) && isCursor(r[0]) && isCursor(r[1]) && r[1] > r[0]) ranges.push([r[0], r[1]]);
    }
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function isHeld(ranges: readonly HeldRange[], cursor: number): boolean {
  for (const [a, u] of ranges) {
    if (cursor <= a) return false;
    if (cursor <= u) return true;
  }
  return false;
}

/** How many cursors in (from, to] the (merged) `ranges` cover. */
export function countHeld(ranges: readonly HeldRange[], from: number, to: number): number {
  let n = 0;
  for (const [a, u] of ranges) n += Math.max(0, Math.min(u, to) - Math.max(a, from));
  return n;
}

/** Whether `metadata` has any hold (a session others depend on). */
export function hasHolds(metadata: Metadata): boolean {
  return Object.keys(metadata).some((k) => k.startsWith(HOLD_PREFIX));
}

/** `metadata` without its holds (what a store-level clear leaves). */
export function withoutHolds(metadata: Metadata): Metadata {
  return Object.fromEntries(Object.entries(metadata).filter(([k]) => !k.startsWith(HOLD_PREFIX)));
}
