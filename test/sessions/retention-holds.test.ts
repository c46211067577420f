/** Retention holds as the stores read them from metadata: merged, sorted, malformed ones ignored. */
import { describe, expect, it } from 'vitest';
import { countHeld, hasHolds, heldRanges, isHeld, withoutHolds } from '../../src/sessions/retention-holds.js';

describe('retention holds', () => {
  it('merges overlapping and touching ranges of every hold, sorted', () => {
    const meta = {
      'hierarchy.hold.snapshot:a@s': [[10, 20], [0, 4]],
      'hierarchy.hold.view@f': [[3, 8]],
      'hierarchy.hold.snapshot:b@s': [[20, 25]],
      owner: [[100, 200]], // not a hold
    };
    expect(heldRanges(meta)).toEqual([[0, 8], [10, 25]]);
    expect([0, 1, 8, 9, 10, 11, 25, 26].map((c) => isHeld(heldRanges(meta), c))).toEqual([false, true, true, false, false, true, true, false]);
    expect(countHeld(heldRanges(meta), 5, 12)).toBe(3 + 2);
  });

  it('ignores malformed holds instead of failing a commit', () => {
    const meta = {
      'hierarchy.hold.a': 'nope',
      'hierarchy.hold.b': [[5, 3], [-1, 4], ['1', '2'], [1.5, 3], null, [1]],
      'hierarchy.hold.c': [[7, 9]],
    };
    expect(heldRanges(meta)).toEqual([[7, 9]]);
  });

  it('a store-level clear keeps every other metadata key', () => {
    const meta = { 'hierarchy.hold.view@f': [[0, 3]], 'hierarchy.title': 'Main', owner: 'alice' };
    expect(hasHolds(meta)).toBe(true);
    expect(withoutHolds(meta)).toEqual({ 'hierarchy.title': 'Main', owner: 'alice' });
    expect(hasHolds(withoutHolds(meta))).toBe(false);
  });
});
