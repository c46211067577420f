/** The pure view arithmetic (view.ts) and the hierarchy's failure handling, on the memory store. */
import { describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/core/session-store.js';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';
import { HierarchicalSessionStore } from '../../src/sessions/hierarchy/hierarchical-session-store.js';
import { HIERARCHY_KEYS, readHierarchy } from '../../src/sessions/hierarchy/hierarchy-metadata.js';
import { containsCursor, cursorAtIndex, cutView, lastIssued, planRead, trimToWindow, viewLength, type ViewRange } from '../../src/sessions/hierarchy/view.js';

// A fork of "p" at p's cursor 3, reverted once: own 1..2 were reverted away, own 3.. is open.
const view: ViewRange[] = [
  { s: 'p', a: 0, u: 3, b: 0 }, // view cursors 1..3
  { s: 'f', a: 0, u: 1, b: 3 }, // view cursor 4
  { s: 'f', a: 2, u: null, b: 5 }, // own 3.. → view cursors 6..
];

describe('view arithmetic', () => {
  it('lengths, last issued cursor, membership', () => {
    expect(viewLength(view, 4)).toBe(3 + 1 + 2);
    expect(lastIssued(view, 4)).toBe(7);
    expect(lastIssued(view, 2)).toBe(5); // nothing written since the revert
    expect([0, 1, 3, 4, 5, 6, 7, 8].map((c) => containsCursor(view, 4, c))).toEqual([true, true, true, true, false, true, true, false]);
  });

  it('planRead: the newest window, after a cursor, limited — one read per contributing range', () => {
    expect(planRead(view, 4, { window: 100 })).toEqual([
      { source: 'p', after: 0, count: 3, shift: 0 },
      { source: 'f', after: 0, count: 1, shift: 3 },
      { source: 'f', after: 2, count: 2, shift: 3 },
    ]);
    expect(planRead(view, 4, { window: 2 })).toEqual([{ source: 'f', after: 2, count: 2, shift: 3 }]);
    expect(planRead(view, 4, { window: 4 })).toEqual([
      { source: 'p', after: 2, count: 1, shift: 0 },
      { source: 'f', after: 0, count: 1, shift: 3 },
      { source: 'f', after: 2, count: 2, shift: 3 },
    ]);
    expect(planRead(view, 4, { window: 100, after: 2, limit: 2 })).toEqual([
      { source: 'p', after: 2, count: 1, shift: 0 },
      { source: 'f', after: 0, count: 1, shift: 3 },
    ]);
    expect(planRead(view, 4, { window: 100, after: 5 })).toEqual([{ source: 'f', after: 2, count: 2, shift: 3 }]);
    expect(planRead(view, 4, { window: 100, after: 7 })).toEqual([]);
    expect(planRead(view, 4, { window: 0 })).toEqual([]);
  });

  it('cutView keeps cursors; cursorAtIndex counts within the window; trimToWindow drops unreadable ranges', () => {
    expect(cutView(view, 4, 4)).toEqual([
      { s: 'p', a: 0, u: 3, b: 0 },
      { s: 'f', a: 0, u: 1, b: 3 },
    ]);
    expect(cutView(view, 4, 6)).toEqual([...cutView(view, 4, 4), { s: 'f', a: 2, u: 3, b: 5 }]);
    expect(cutView(view, 4, 0)).toEqual([]);
    expect([0, 2, 3, 5, 6].map((i) => cursorAtIndex(view, 4, 100, i))).toEqual([1, 3, 4, 7, null]);
    expect(cursorAtIndex(view, 4, 2, 0)).toBe(6);
    expect(trimToWindow(view, 4, 3)).toEqual(view.slice(1));
    expect(trimToWindow(view, 4, 2)).toEqual(view.slice(2));
    expect(trimToWindow(view, 4, 100)).toEqual(view);
  });
});

describe('hierarchy getEntries options on a stored view', () => {
  it('answers like filtering by cursor > after and taking limit, for any number', async () => {
    const h = new HierarchicalSessionStore(new MemorySessionStore());
    for (const t of ['a', 'b', 'c']) await h.addMessage('p', 'user', t);
    await h.forkSession('p', { id: 'f' });
    await h.addMessage('f', 'user', 'd');
    const cursors = async (o: { after?: number; limit?: number }) => (await h.getEntries('f', o)).map((e) => e.cursor);
    expect(await cursors({})).toEqual([1, 2, 3, 4]);
    expect(await cursors({ after: 2.7, limit: 1.9 })).toEqual([3]);
    expect(await cursors({ after: -5 })).toEqual([1, 2, 3, 4]);
    expect(await cursors({ after: -Infinity, limit: Infinity })).toEqual([1, 2, 3, 4]);
    for (const o of [{ after: NaN }, { after: Infinity }, { limit: 0 }, { limit: -1 }, { limit: NaN }, { after: 4 }]) expect(await cursors(o), JSON.stringify(o)).toEqual([]);
  });
});

describe('hierarchy failure handling', () => {
  /** A memory store whose metadata writes fail for chosen session ids. */
  function flakyStore(failFor: Set<string>): MemorySessionStore {
    const store = new MemorySessionStore();
    const update = store.updateMetadata.bind(store);
    store.updateMetadata = async (id: string, patch: Metadata) => {
      if (failFor.has(id)) throw new Error(`disk full writing ${id}`);
      return update(id, patch);
    };
    return store;
  }

  it('a fork whose child write fails leaves no trace in the parent; one whose parent write fails leaves no child', async () => {
    const failFor = new Set<string>();
    const store = flakyStore(failFor);
    const h = new HierarchicalSessionStore(store);
    await h.addMessage('p', 'user', 'hi');
    failFor.add('child');
    await expect(h.forkSession('p', { id: 'child' })).rejects.toThrow(/disk full writing child/);
    expect(await h.getChildren('p')).toEqual([]);
    failFor.clear();
    failFor.add('p');
    await expect(h.forkSession('p', { id: 'child2' })).rejects.toThrow(/disk full writing p/);
    expect(await h.sessionExists('child2')).toBe(false);
  });

  it('metadata another program mangled is a clear StoreError, not a wrong history', async () => {
    const store = new MemorySessionStore();
    const h = new HierarchicalSessionStore(store);
    await h.addMessage('s', 'user', 'hi');
    await store.updateMetadata('s', { [HIERARCHY_KEYS.view]: [{ s: 's', a: -1, u: null, b: 0 }] });
    await expect(h.getChatHistory('s')).rejects.toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/"hierarchy.view" is not what the session hierarchy wrote/) });
    expect(() => readHierarchy('s', { [HIERARCHY_KEYS.snapshotPrefix + 'x']: 'nope' })).toThrow(/hierarchy.snapshot.x/);
    await h.addMessage('ok', 'user', 'fine');
    expect((await h.listSessions()).map((i) => i.id).sort()).toEqual(['ok', 's']); // still listed
  });

  it('a fork whose parent was deleted behind the hierarchy fails loudly', async () => {
    const store = new MemorySessionStore();
    const h = new HierarchicalSessionStore(store);
    await h.addMessage('p', 'user', 'hi');
    await h.forkSession('p', { id: 'f' });
    await store.deleteSession('p'); // not through the hierarchy: no refusal
    await expect(h.getEntries('f')).rejects.toMatchObject({ code: 'HISTORY_UNAVAILABLE' });
    await expect(h.forkSession('f', { id: 'g' })).rejects.toThrow(/does not exist/);
  });
});
