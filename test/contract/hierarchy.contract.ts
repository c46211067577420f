/**
 * The hierarchy conformance suite: HierarchicalSessionStore over a backend must behave the
 * same on every backend (file, memory, Redis, Postgres). Each backend's runner calls
 *
 *   hierarchyContract('FileSessionStore', async ({ maxMessages }) => ({ store, cleanup }), { sequences });
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionLog } from '../../src/core/session-store.js';
import { HierarchicalSessionStore } from '../../src/sessions/hierarchy/hierarchical-session-store.js';
import { HIERARCHY_KEYS } from '../../src/sessions/hierarchy/hierarchy-metadata.js';
import { HOSTILE_IDS, type MakeStore } from './session-store.contract.js';
import { runRandomSequence } from './hierarchy-model.js';

const contents = async (h: SessionLog, id: string) => (await h.getEntries(id)).map((e) => `${e.cursor}:${e.content}`);

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export function hierarchyContract(name: string, make: MakeStore, options: { sequences: number; opsPerSequence?: number }): void {
  describe(`${name} hierarchy contract`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    async function open(maxMessages = 1000): Promise<{ h: HierarchicalSessionStore; store: SessionLog }> {
      const { store, cleanup } = await make({ maxMessages });
      cleanups.push(cleanup);
      return { h: new HierarchicalSessionStore(store), store };
    }
    async function say(h: SessionLog, id: string, ...texts: string[]): Promise<void> {
      for (const t of texts) await h.addMessage(id, 'user', t);
    }

    it('createSession: new ids, titles, parents; an existing id is an error and nothing is wiped', async () => {
      const { h } = await open();
      const main = await h.createSession({ title: 'Main' });
      expect(await h.sessionExists(main)).toBe(true);
      expect(await h.getTitle(main)).toBe('Main');
      await say(h, main, 'keep me');
      await h.updateMetadata(main, { owner: 'alice' });
      await expectCode(h.createSession({ id: main, title: 'again' }), 'SESSION_EXISTS');
      expect(await contents(h, main)).toEqual(['1:keep me']);
      expect((await h.getSession(main))?.metadata).toMatchObject({ owner: 'alice', [HIERARCHY_KEYS.title]: 'Main' });

      const child = await h.createSession({ id: 'child', parentId: main, title: 'Child' });
      expect(await h.getParent(child)).toBe(main);
      expect(await h.getChildren(main)).toEqual(['child']);
      expect(await h.getChatHistory(child)).toEqual([]);
      await expectCode(h.createSession({ parentId: 'no-such-parent' }), 'SESSION_NOT_FOUND');
      await expectCode(h.getChildren('no-such-session'), 'SESSION_NOT_FOUND');
    });

    it('forkSession: copy-on-write — the fork sees the history, both go their own way, nothing is copied', async () => {
      const { h, store } = await open();
      await say(h, 'p', 'a', 'b', 'c');
      const parentBefore = await store.getSession('p');
      const f = await h.forkSession('p', { title: 'alt', id: 'f' });
      expect(f).toBe('f');
      // The fork wrote no message anywhere: the parent's log is unchanged, the fork's is empty.
      expect((await store.getSession('p'))?.lastCursor).toBe(parentBefore?.lastCursor);
      expect((await store.getSession('f'))?.lastCursor).toBe(0);
      expect(await store.getEntries('f')).toEqual([]);

      expect(await contents(h, 'f')).toEqual(['1:a', '2:b', '3:c']);
      await say(h, 'f', 'f1');
      await say(h, 'p', 'p1');
      expect(await contents(h, 'f')).toEqual(['1:a', '2:b', '3:c', '4:f1']);
      expect(await contents(h, 'p')).toEqual(['1:a', '2:b', '3:c', '4:p1']);
      expect(await h.getChatHistory('f', 2)).toEqual([
        { role: 'user', content: 'c' },
        { role: 'user', content: 'f1' },
      ]);
      expect(await h.getParent('f')).toBe('p');
      expect(await h.getChildren('p')).toEqual(['f']);
      expect(await h.getTitle('f')).toBe('alt');
      expect(await h.getSession('f')).toMatchObject({ messageCount: 4, lastCursor: 4 });
    });

    it('forkSession fromCursor / fromMessageIndex, and bad cut points are errors', async () => {
      const { h } = await open();
      await say(h, 'p', 'a', 'b', 'c', 'd');
      await h.forkSession('p', { id: 'c2', fromCursor: 2 });
      await h.forkSession('p', { id: 'i3', fromMessageIndex: 3 });
      await h.forkSession('p', { id: 'i0', fromMessageIndex: 0 });
      expect(await contents(h, 'c2')).toEqual(['1:a', '2:b']);
      expect(await contents(h, 'i3')).toEqual(['1:a', '2:b', '3:c']);
      expect(await contents(h, 'i0')).toEqual([]);
      await say(h, 'c2', 'x');
      expect(await contents(h, 'c2')).toEqual(['1:a', '2:b', '3:x']);

      await expectCode(h.forkSession('p', { fromCursor: 9 }), 'INVALID_CURSOR');
      await expectCode(h.forkSession('p', { fromCursor: -1 }), 'INVALID_CURSOR');
      await expectCode(h.forkSession('p', { fromMessageIndex: 5 }), 'INVALID_CURSOR');
      await expectCode(h.forkSession('p', { fromCursor: 1, fromMessageIndex: 1 }), 'INVALID_CURSOR');
      await expectCode(h.forkSession('p', { id: 'c2' }), 'SESSION_EXISTS');
      await expectCode(h.forkSession('nope'), 'SESSION_NOT_FOUND');
      expect(await contents(h, 'c2')).toEqual(['1:a', '2:b', '3:x']);
    });

    it('forks of forks stitch three logs; the tree shows them', async () => {
      const { h } = await open();
      await say(h, 'g', 'g1', 'g2');
      await h.forkSession('g', { id: 'p', title: 'P' });
      await say(h, 'p', 'p3', 'p4');
      await h.forkSession('p', { id: 'c', fromCursor: 3 });
      await say(h, 'c', 'c4');
      await say(h, 'g', 'g3');
      expect(await contents(h, 'c')).toEqual(['1:g1', '2:g2', '3:p3', '4:c4']);
      const tree = await h.getSessionTree('g');
      expect(tree).toMatchObject({ id: 'g', messageCount: 3, children: [{ id: 'p', title: 'P', forkedAtCursor: 2, children: [{ id: 'c', forkedAtCursor: 3, messageCount: 4, children: [] }] }] });
    });

    it('snapshots are cursors: revert restores exactly the snapshot, later cursors are never reused', async () => {
      const { h } = await open();
      await say(h, 's', 'a', 'b');
      const snap = await h.createSnapshot('s', 'safe point');
      await say(h, 's', 'c', 'd');
      await h.revertToSnapshot('s', snap);
      expect(await contents(h, 's')).toEqual(['1:a', '2:b']);
      await say(h, 's', 'e');
      expect(await contents(h, 's')).toEqual(['1:a', '2:b', '5:e']);
      const later = await h.createSnapshot('s', 'after e');
      await h.revertToMessage('s', 1);
      expect(await contents(h, 's')).toEqual(['1:a']);
      await h.revertToSnapshot('s', later); // a revert can be undone
      expect(await contents(h, 's')).toEqual(['1:a', '2:b', '5:e']);
      expect((await h.listSnapshots('s')).map((x) => [x.id, x.label, x.messageCount, x.cursor])).toEqual([
        [snap, 'safe point', 2, 2],
        [later, 'after e', 3, 5],
      ]);
      await expectCode(h.revertToSnapshot('s', 'snapshot_nope'), 'SNAPSHOT_NOT_FOUND');
      await expectCode(h.revertToMessage('s', 3), 'INVALID_CURSOR'); // 3 was reverted away
      await expectCode(h.revertToMessage('s', 99), 'INVALID_CURSOR');
      await h.revertToMessage('s', 0);
      expect(await contents(h, 's')).toEqual([]);
      await say(h, 's', 'f');
      expect(await contents(h, 's')).toEqual(['6:f']);
    });

    // Enough appends that every store has trimmed (the file store compacts lazily, with slack).
    const FORCE_TRIM = 70;
    const numbered = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
    /** Cursors the store keeps below its served window (held for snapshots and forks). */
    const heldCursors = async (store: SessionLog, id: string) => {
      const info = (await store.getSession(id))!;
      const firstServed = info.lastCursor - info.messageCount + 1;
      return (await store.getEntries(id, { includeHeld: true })).map((e) => e.cursor).filter((c) => c < firstServed);
    };

    it('a snapshot holds what it shows: revert after trimming restores exactly it; deleting it releases them', async () => {
      const { h, store } = await open(10);
      await say(h, 's', ...numbered('m', 1, 8));
      const snap = await h.createSnapshot('s', 'eight');
      await say(h, 's', ...numbered('m', 9, 16));
      expect(await contents(h, 's')).toEqual(numbered('', 7, 16).map((c) => `${c}:m${c}`));
      await say(h, 's', ...numbered('m', 17, 16 + FORCE_TRIM));
      const info = (await store.getSession('s'))!;
      expect(info.messageCount).toBe(10); // served: still max_messages
      expect(info.heldCount).toBe(8); // held for the snapshot, beside it
      expect(await store.getChatHistory('s')).toHaveLength(10);
      expect(await heldCursors(store, 's')).toEqual(numbered('', 1, 8).map(Number));
      // An index-based snapshot ("the first 8 messages") would now name other messages; ours names
      // cursors 1..8, and the store kept exactly those.
      await h.revertToSnapshot('s', snap);
      expect(await contents(h, 's')).toEqual(numbered('', 1, 8).map((c) => `${c}:m${c}`));
      // Back to the present, then drop the snapshot: the next trim releases what only it held.
      await h.clearSession('s');
      await h.deleteSnapshot('s', snap);
      await expectCode(h.deleteSnapshot('s', snap), 'SNAPSHOT_NOT_FOUND');
      expect(await h.listSnapshots('s')).toEqual([]);
      await say(h, 's', ...numbered('n', 1, FORCE_TRIM));
      expect(await heldCursors(store, 's')).toEqual([]);
      expect((await store.getSession('s'))!.heldCount ?? 0).toBe(0);
      expect(await h.getChatHistory('s')).toHaveLength(10);
    });

    it('a fork holds what it inherits: the parent trims the rest; deleting the fork releases them', async () => {
      const { h, store } = await open(10);
      await say(h, 'p', ...numbered('p', 1, 8));
      await h.forkSession('p', { id: 'f', fromCursor: 6 });
      await say(h, 'p', ...numbered('p', 9, 8 + FORCE_TRIM));
      expect(await contents(h, 'f')).toEqual(numbered('', 1, 6).map((c) => `${c}:p${c}`));
      await say(h, 'f', 'f7');
      expect(await contents(h, 'f')).toEqual([...numbered('', 1, 6).map((c) => `${c}:p${c}`), '7:f7']);
      expect(await heldCursors(store, 'p')).toEqual([1, 2, 3, 4, 5, 6]); // 7 and 8: not inherited, trimmed
      // A fork of the fork holds the grandparent's entries too.
      await h.forkSession('f', { id: 'g', fromCursor: 3 });
      await h.deleteSession('f', { recursive: true });
      expect(await store.sessionExists('g')).toBe(false);
      await say(h, 'p', ...numbered('q', 1, FORCE_TRIM));
      expect(await heldCursors(store, 'p')).toEqual([]);
      expect(await h.getChatHistory('p')).toHaveLength(10);
    });

    it('a fork whose inherited messages are gone (cleared outside the hierarchy) fails loudly, never with a hole', async () => {
      const { h, store } = await open(5);
      await say(h, 'p', 'a', 'b', 'c');
      await h.forkSession('p', { id: 'f' });
      await say(h, 'f', 'f1');
      await store.clearSession('p'); // the store itself, bypassing the hierarchy: messages and holds go
      await expectCode(h.getEntries('f'), 'HISTORY_UNAVAILABLE');
      await expectCode(h.getChatHistory('f'), 'HISTORY_UNAVAILABLE');
      // What is still stored is still served: the newest message needs only f1.
      expect(await h.getChatHistory('f', 1)).toEqual([{ role: 'user', content: 'f1' }]);
      await expect(h.getEntries('f')).rejects.toThrow(/needs messages 1\.\.3 of session "p"/);
      // A new fork or a snapshot that would need missing messages is refused before anything is written.
      await expectCode(h.forkSession('f', { id: 'g' }), 'HISTORY_UNAVAILABLE');
      expect(await h.sessionExists('g')).toBe(false);
      await expectCode(h.createSnapshot('f'), 'HISTORY_UNAVAILABLE');
      expect(await h.listSnapshots('f')).toEqual([]);
      // Clearing the fork makes it usable again.
      await h.clearSession('f');
      await say(h, 'f', 'fresh');
      expect(await contents(h, 'f')).toEqual(['5:fresh']);
    });

    it('hierarchy writes never drop other metadata keys, and metadata writes keep the hierarchy', async () => {
      const { h } = await open();
      await say(h, 's', 'a');
      await h.updateMetadata('s', { owner: 'alice', prefs: { lang: 'en' } });
      const snap = await h.createSnapshot('s');
      await h.forkSession('s', { id: 'f' });
      await h.rename('s', 'Renamed');
      await say(h, 's', 'b');
      await h.revertToSnapshot('s', snap);
      await h.clearSession('s');
      const meta = (await h.getSession('s'))!.metadata;
      expect(meta).toMatchObject({ owner: 'alice', prefs: { lang: 'en' }, [HIERARCHY_KEYS.title]: 'Renamed' });
      await h.updateMetadata('s', { owner: 'bob' });
      expect(await h.getTitle('s')).toBe('Renamed');
      expect(await h.getChildren('s')).toEqual(['f']);
      expect((await h.listSnapshots('s')).map((x) => x.id)).toEqual([snap]);
      await expectCode(h.rename('nope', 'x'), 'SESSION_NOT_FOUND');
    });

    it('clear keeps what snapshots and forks need; without them it empties the log', async () => {
      const { h, store } = await open();
      await say(h, 'plain', 'a', 'b');
      expect(await h.clearSession('plain')).toBe(true);
      expect(await store.getEntries('plain')).toEqual([]);
      expect((await store.getSession('plain'))?.metadata[HIERARCHY_KEYS.view]).toBeUndefined();
      await say(h, 'plain', 'c');
      expect(await contents(h, 'plain')).toEqual(['3:c']);

      await say(h, 's', 'a', 'b');
      const snap = await h.createSnapshot('s');
      await h.clearSession('s');
      expect(await contents(h, 's')).toEqual([]);
      expect(await h.getSession('s')).toMatchObject({ messageCount: 0, lastCursor: 2 });
      await h.revertToSnapshot('s', snap);
      expect(await contents(h, 's')).toEqual(['1:a', '2:b']);
      expect(await h.clearSession('missing')).toBe(false);
    });

    it('delete: refused while forks exist, recursive deletes the forks, a deleted fork leaves its parent', async () => {
      const { h } = await open();
      await say(h, 'p', 'a');
      await h.forkSession('p', { id: 'c1' });
      await h.forkSession('c1', { id: 'g1' });
      await h.forkSession('p', { id: 'c2' });
      await expectCode(h.deleteSession('p'), 'SESSION_HAS_CHILDREN');
      await expect(h.deleteSession('p')).rejects.toThrow(/--recursive/);
      expect(await contents(h, 'g1')).toEqual(['1:a']);
      expect(await h.deleteSession('c2')).toBe(true);
      expect(await h.getChildren('p')).toEqual(['c1']);
      expect(await h.deleteSession('p', { recursive: true })).toBe(true);
      for (const id of ['p', 'c1', 'g1', 'c2']) expect(await h.sessionExists(id)).toBe(false);
      expect(await h.deleteSession('p')).toBe(false);
    });

    it('export → import recreates history, cursors, snapshots and metadata; ids never clash silently', async () => {
      const { h } = await open();
      await say(h, 'p', 'a', 'b');
      await h.forkSession('p', { id: 's', title: 'T' });
      await h.updateMetadata('s', { owner: 'alice' });
      await say(h, 's', 'c', 'd');
      const snap = await h.createSnapshot('s', 'before e');
      await say(h, 's', 'e');
      await h.revertToMessage('s', 3);
      await say(h, 's', 'f');
      const exported = JSON.parse(JSON.stringify(await h.exportSession('s')));
      expect(exported).toMatchObject({ format: 'bothost-session', version: 1, session: { id: 's', title: 'T', parentId: 'p', forkedAtCursor: 2, metadata: { owner: 'alice' } } });

      await expectCode(h.importSession(exported), 'SESSION_EXISTS');
      const copy = await h.importSession(exported, { id: 'copy' });
      expect(copy).toBe('copy');
      expect(await contents(h, 'copy')).toEqual(await contents(h, 's'));
      expect(await contents(h, 'copy')).toEqual(['1:a', '2:b', '3:c', '6:f']);
      expect(await h.getTitle('copy')).toBe('T');
      expect((await h.getSession('copy'))?.metadata.owner).toBe('alice');
      await say(h, 'copy', 'g');
      expect((await contents(h, 'copy')).at(-1)).toBe('7:g');
      await h.revertToSnapshot('copy', snap);
      expect(await contents(h, 'copy')).toEqual(['1:a', '2:b', '3:c', '4:d']);

      // A crafted file cannot smuggle hierarchy state (e.g. a snapshot of another session's log).
      const secret = await h.createSession({ id: 'secret' });
      await say(h, secret, 'private');
      const crafted = {
        ...exported,
        session: { ...exported.session, metadata: { ok: 1, [`${HIERARCHY_KEYS.snapshotPrefix}evil`]: { id: 'evil', cursor: 1, count: 1, ranges: [{ s: 'secret', a: 0, u: 1, b: 0 }] } } },
      };
      await h.importSession(crafted, { id: 'crafted' });
      expect((await h.listSnapshots('crafted')).map((s) => s.id)).toEqual([snap]);
      expect((await h.getSession('crafted'))?.metadata.ok).toBe(1);

      await expectCode(h.importSession({ format: 'something-else' }, { id: 'x' }), 'IMPORT_INVALID');
      await expectCode(h.importSession({ ...exported, version: 99 }, { id: 'x' }), 'IMPORT_INVALID');
      await expectCode(h.importSession({ ...exported, history: [[1, 50]] }, { id: 'x' }), 'IMPORT_INVALID');
      expect(await h.sessionExists('x')).toBe(false);
    });

    it('concurrent forks and snapshots of one session all land (disjoint metadata keys)', async () => {
      const { h } = await open();
      await say(h, 'p', 'a', 'b');
      const forks = await Promise.all(Array.from({ length: 8 }, (_, i) => h.forkSession('p', { id: `f${i}` })));
      const snaps = await Promise.all(Array.from({ length: 8 }, (_, i) => h.createSnapshot('p', `s${i}`)));
      expect(await h.getChildren('p')).toEqual([...forks].sort());
      expect((await h.listSnapshots('p')).map((s) => s.id).sort()).toEqual([...snaps].sort());
      for (const f of forks) expect(await contents(h, f)).toEqual(['1:a', '2:b']);
    });

    it('hostile ids work as session, fork and snapshot owners', async () => {
      const { h } = await open();
      const ids = HOSTILE_IDS.filter((id) => id.length < 200);
      for (const [i, id] of ids.entries()) {
        await say(h, id, `m${i}`);
        const forkId = `${id}/../fork${i}`;
        await h.forkSession(id, { id: forkId });
        await say(h, forkId, 'x');
        expect(await contents(h, forkId), JSON.stringify(id)).toEqual([`1:m${i}`, '2:x']);
        expect(await h.getParent(forkId)).toBe(id);
      }
      await expectCode(h.forkSession(ids[0]!, { id: '' }), 'INVALID_SESSION_ID');
      await expectCode(h.createSession({ id: 'x'.repeat(1025) }), 'INVALID_SESSION_ID');
    });

    it('a session never forked or reverted reads exactly as the plain store', async () => {
      const { h, store } = await open(4);
      await say(h, 'plain', 'a', 'b', 'c', 'd', 'e');
      expect(await h.getChatHistory('plain')).toEqual(await store.getChatHistory('plain'));
      expect(await h.getEntries('plain', { after: 2, limit: 2 })).toEqual(await store.getEntries('plain', { after: 2, limit: 2 }));
      expect(await h.getSession('plain')).toEqual(await store.getSession('plain'));
    });

    it(`random append/fork/snapshot/revert/clear/delete sequences match an array model (${options.sequences} seeds)`, async () => {
      const { h } = await open(10_000);
      const base = Number(process.env.HIERARCHY_SEED ?? 1);
      for (let seed = base; seed < base + options.sequences; seed++) {
        await runRandomSequence(h, seed, options.opsPerSequence ?? 30, 'prop-');
      }
    }, 240_000);
  });
}
