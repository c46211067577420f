/**
 * The session store conformance suite. Every backend in `src/sessions/` runs it:
 *
 *   sessionStoreContract('FileSessionStore', async ({ maxMessages }) => ({ store, cleanup }));
 *
 * It checks the seed's five-method protocol and our extras (cursors, entries, atomic fenced
 * commits with idempotency, metadata, listing, id safety) exactly as `src/core/session-store.ts`
 * documents them, so the backends are interchangeable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isSessionStore, type SessionEntry, type SessionLog, type TurnCommit } from '../../src/core/session-store.js';
import { metadataExpectationContract } from './metadata-expectation.contract.js';

export interface ContractStore {
  store: SessionLog;
  cleanup(): Promise<void>;
}

export type MakeStore = (opts: { maxMessages: number }) => Promise<ContractStore>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Long enough for coarse clocks (file mtimes tick every few ms) to order two activities. */
const TICK_MS = 25;

/** Ids that must behave as ordinary sessions in every store (T28). */
export const HOSTILE_IDS: readonly string[] = [
  '../x',
  '/etc/passwd',
  'a/../../b',
  '\u0000',
  'a\u0000b',
  'CON',
  'con',
  'NUL.txt',
  'COM1',
  '%2e%2e%2f',
  '%2E%2E%2F..%2f',
  ':',
  'C:\\Windows\\system32',
  '..',
  '.',
  '.hidden',
  'x.jsonl',
  ' ',
  'line\nbreak',
  'x'.repeat(1024),
  'é'.repeat(1024),
  'héllo wörld',
  '🙂🚀',
  '\u{1F600}'.repeat(512),
  '日本語のセッション',
];

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

function userTurn(text: string, extra: Partial<TurnCommit> = {}): TurnCommit {
  return { ...extra, entries: [{ role: 'user', content: text }, { role: 'assistant', content: `re: ${text}` }] };
}

function cursorsOf(entries: SessionEntry[]): number[] {
  return entries.map((e) => e.cursor);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function sessionStoreContract(name: string, make: MakeStore): void {
  describe(`${name} contract`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    async function open(maxMessages = 1000): Promise<SessionLog> {
      const { store, cleanup } = await make({ maxMessages });
      cleanups.push(cleanup);
      return store;
    }

    metadataExpectationContract(() => open());

    describe("the seed's five methods", () => {
      it('satisfies the runtime protocol check', async () => {
        const store = await open();
        expect(isSessionStore(store)).toBe(true);
        expect(isSessionStore({ addMessage() {} })).toBe(false);
      });

      it('addMessage resolves true and history is oldest first, {role, content} only', async () => {
        const store = await open();
        expect(await store.addMessage('s1', 'system', 'be nice')).toBe(true);
        expect(await store.addMessage('s1', 'user', 'hi', { platform: 'telegram', messageId: 7 })).toBe(true);
        expect(await store.addMessage('s1', 'assistant', 'hello!')).toBe(true);
        expect(await store.addMessage('s1', 'tool', '{"ok":true}')).toBe(true);
        const history = await store.getChatHistory('s1');
        expect(history).toEqual([
          { role: 'system', content: 'be nice' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello!' },
          { role: 'tool', content: '{"ok":true}' },
        ]);
        for (const m of history) expect(Object.keys(m).sort()).toEqual(['content', 'role']);
      });

      it('getChatHistory(id, n) returns the last n, oldest first', async () => {
        const store = await open();
        for (let i = 0; i < 10; i++) await store.addMessage('s', 'user', `m${i}`);
        expect((await store.getChatHistory('s', 3)).map((m) => m.content)).toEqual(['m7', 'm8', 'm9']);
        expect((await store.getChatHistory('s', 1)).map((m) => m.content)).toEqual(['m9']);
        expect(await store.getChatHistory('s', 100)).toHaveLength(10);
        expect(await store.getChatHistory('s', 0)).toEqual([]);
      });

      it('content round-trips exactly, including newlines, NUL, JSON-looking and non-BMP text', async () => {
        const store = await open();
        const contents = ['line1\nline2\r\n', 'nul\u0000byte', '{"t":"h","id":"x"}\n{"t":"c"}', '\u2028\u2029', '🙂 日本 é', '', ' '.repeat(3), 'x'.repeat(100_000)];
        for (const c of contents) await store.addMessage('rt', 'user', c);
        expect((await store.getChatHistory('rt')).map((m) => m.content)).toEqual(contents);
      });

      it('an unknown session has empty history, does not exist, and clear/delete return false', async () => {
        const store = await open();
        expect(await store.getChatHistory('nobody')).toEqual([]);
        expect(await store.sessionExists('nobody')).toBe(false);
        expect(await store.clearSession('nobody')).toBe(false);
        expect(await store.deleteSession('nobody')).toBe(false);
        expect(await store.getEntries('nobody')).toEqual([]);
        expect(await store.getSession('nobody')).toBeNull();
        // Reading never creates a session.
        expect(await store.sessionExists('nobody')).toBe(false);
        expect((await store.listSessions()).map((s) => s.id)).not.toContain('nobody');
      });

      it('sessionExists turns true on the first message', async () => {
        const store = await open();
        expect(await store.sessionExists('s')).toBe(false);
        await store.addMessage('s', 'user', 'hi');
        expect(await store.sessionExists('s')).toBe(true);
        expect(await store.sessionExists('S')).toBe(false);
      });

      it('clearSession drops the messages but keeps the session, its metadata and its cursor', async () => {
        const store = await open();
        await store.updateMetadata('s', { name: 'Ann' });
        for (let i = 0; i < 3; i++) await store.addMessage('s', 'user', `m${i}`);
        const before = await store.getSession('s');
        expect(await store.clearSession('s')).toBe(true);
        expect(await store.getChatHistory('s')).toEqual([]);
        expect(await store.getEntries('s')).toEqual([]);
        expect(await store.sessionExists('s')).toBe(true);
        const after = await store.getSession('s');
        expect(after).toMatchObject({ id: 's', messageCount: 0, lastCursor: 3, metadata: { name: 'Ann' }, createdAt: before!.createdAt });
        await store.addMessage('s', 'user', 'again');
        const entries = await store.getEntries('s');
        expect(entries.map((e) => [e.cursor, e.content])).toEqual([[4, 'again']]);
        // Clearing again (even an already empty session) still keeps counting.
        expect(await store.clearSession('s')).toBe(true);
        const res = await store.commitTurn('s', userTurn('third'));
        expect(res).toEqual({ status: 'committed', cursors: [5, 6] });
      });

      it('deleteSession removes everything', async () => {
        const store = await open();
        await store.updateMetadata('s', { a: 1 });
        await store.addMessage('s', 'user', 'hi');
        await store.addMessage('other', 'user', 'stays');
        expect(await store.deleteSession('s')).toBe(true);
        expect(await store.sessionExists('s')).toBe(false);
        expect(await store.getChatHistory('s')).toEqual([]);
        expect(await store.getSession('s')).toBeNull();
        expect((await store.listSessions()).map((i) => i.id)).toEqual(['other']);
        expect(await store.deleteSession('s')).toBe(false);
        // A new session under the same id starts from nothing.
        await store.updateMetadata('s', { b: 2 });
        expect((await store.getSession('s'))!.metadata).toEqual({ b: 2 });
        expect(await store.getChatHistory('other')).toEqual([{ role: 'user', content: 'stays' }]);
      });
    });

    describe('cursors and entries', () => {
      it('cursors start at 1 and strictly increase; entries carry role, content, ts and metadata', async () => {
        const store = await open();
        const t0 = Date.now();
        await store.addMessage('s', 'user', 'a', { mid: 'x1' });
        await store.addMessage('s', 'assistant', 'b');
        await store.commitTurn('s', userTurn('c'));
        const entries = await store.getEntries('s');
        expect(cursorsOf(entries)).toEqual([1, 2, 3, 4]);
        expect(entries.map((e) => [e.role, e.content])).toEqual([
          ['user', 'a'],
          ['assistant', 'b'],
          ['user', 'c'],
          ['assistant', 're: c'],
        ]);
        expect(entries[0]!.metadata).toEqual({ mid: 'x1' });
        for (const e of entries) {
          expect(e.ts).toBeGreaterThanOrEqual(t0 - 1);
          expect(e.ts).toBeLessThanOrEqual(Date.now() + 1);
        }
        // Cursors are per session.
        await store.addMessage('other', 'user', 'x');
        expect(cursorsOf(await store.getEntries('other'))).toEqual([1]);
      });

      it('getEntries({after, limit}) returns the OLDEST `limit` entries after `after`', async () => {
        const store = await open();
        for (let i = 1; i <= 10; i++) await store.addMessage('s', 'user', `m${i}`);
        expect(cursorsOf(await store.getEntries('s', { after: 3 }))).toEqual(range(4, 10));
        expect(cursorsOf(await store.getEntries('s', { after: 3, limit: 2 }))).toEqual([4, 5]);
        expect(cursorsOf(await store.getEntries('s', { limit: 3 }))).toEqual([1, 2, 3]);
        expect(cursorsOf(await store.getEntries('s', { after: 0 }))).toEqual(range(1, 10));
        expect(cursorsOf(await store.getEntries('s', { after: 9, limit: 5 }))).toEqual([10]);
        expect(await store.getEntries('s', { after: 10 })).toEqual([]);
        expect(await store.getEntries('s', { after: 500 })).toEqual([]);
        expect(await store.getEntries('s', { after: 2, limit: 0 })).toEqual([]);
        expect((await store.getEntries('s', { after: 4, limit: 1 }))[0]).toMatchObject({ cursor: 5, content: 'm5', role: 'user' });
      });

      it('a multi-entry commit gets consecutive cursors, atomically, in order', async () => {
        const store = await open();
        await store.addMessage('s', 'user', 'first');
        const res = await store.commitTurn('s', {
          entries: [
            { role: 'user', content: 'q' },
            { role: 'tool', content: 'lookup' },
            { role: 'assistant', content: 'a', metadata: { outbound: ['m-1'] } },
          ],
        });
        expect(res).toEqual({ status: 'committed', cursors: [2, 3, 4] });
        const entries = await store.getEntries('s', { after: 1 });
        expect(entries.map((e) => [e.cursor, e.role, e.content])).toEqual([
          [2, 'user', 'q'],
          [3, 'tool', 'lookup'],
          [4, 'assistant', 'a'],
        ]);
        expect(entries[2]!.metadata).toEqual({ outbound: ['m-1'] });
        expect((await store.getSession('s'))!.lastCursor).toBe(4);
      });
    });

    describe('idempotency and fencing', () => {
      it('a repeated inboundId is a duplicate pointing at the first cursor, and appends nothing', async () => {
        const store = await open();
        await store.addMessage('s', 'system', 'sys');
        const first = await store.commitTurn('s', userTurn('hello', { inboundId: 'tg:42' }));
        expect(first).toEqual({ status: 'committed', cursors: [2, 3] });
        const again = await store.commitTurn('s', userTurn('hello (redelivered, even with other text)', { inboundId: 'tg:42' }));
        expect(again).toEqual({ status: 'duplicate', cursor: 2 });
        expect(await store.getChatHistory('s')).toHaveLength(3);
        expect((await store.getSession('s'))!.lastCursor).toBe(3);
        // Other ids and other sessions are unaffected.
        expect(await store.commitTurn('s', userTurn('next', { inboundId: 'tg:43' }))).toEqual({ status: 'committed', cursors: [4, 5] });
        expect(await store.commitTurn('t', userTurn('hello', { inboundId: 'tg:42' }))).toEqual({ status: 'committed', cursors: [1, 2] });
      });

      it('inbound ids are still remembered after clearSession', async () => {
        const store = await open();
        await store.commitTurn('s', userTurn('hello', { inboundId: 'm1' }));
        await store.clearSession('s');
        expect(await store.commitTurn('s', userTurn('hello', { inboundId: 'm1' }))).toEqual({ status: 'duplicate', cursor: 1 });
        expect(await store.getEntries('s')).toEqual([]);
      });

      it('findCommitted returns the first cursor of the commit that carried an inbound id, else null', async () => {
        const store = await open();
        expect(await store.findCommitted('s', 'm1')).toBeNull();
        await store.addMessage('s', 'system', 'sys');
        await store.commitTurn('s', userTurn('hello', { inboundId: 'm1', fence: 2 }));
        await store.commitTurn('s', userTurn('again', { inboundId: 'm1' }));
        expect(await store.commitTurn('s', userTurn('zombie', { inboundId: 'm2', fence: 1 }))).toMatchObject({ status: 'stale_fence' });
        expect(await store.findCommitted('s', 'm1')).toBe(2);
        expect(await store.findCommitted('s', 'm2')).toBeNull();
        expect(await store.findCommitted('other', 'm1')).toBeNull();
        await store.clearSession('s');
        expect(await store.findCommitted('s', 'm1')).toBe(2);
        await store.deleteSession('s');
        expect(await store.findCommitted('s', 'm1')).toBeNull();
        await expectCode(store.findCommitted('', 'm1'), 'INVALID_SESSION_ID');
      });

      it('concurrent commits of one inboundId: exactly one is committed', async () => {
        const store = await open();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.commitTurn('s', userTurn(`try ${i}`, { inboundId: 'same' }))));
        const committed = results.filter((r) => r.status === 'committed');
        expect(committed).toHaveLength(1);
        const cursor = (committed[0] as { cursors: number[] }).cursors[0];
        for (const r of results) if (r.status !== 'committed') expect(r).toEqual({ status: 'duplicate', cursor });
        expect(await store.getEntries('s')).toHaveLength(2);
      });

      it('a fence lower than the highest committed is stale; equal or higher commits', async () => {
        const store = await open();
        expect(await store.commitTurn('s', userTurn('a', { fence: 5 }))).toMatchObject({ status: 'committed' });
        expect(await store.commitTurn('s', userTurn('b', { fence: 3 }))).toEqual({ status: 'stale_fence', highestFence: 5 });
        expect(await store.commitTurn('s', userTurn('c', { fence: 5 }))).toMatchObject({ status: 'committed' });
        expect(await store.commitTurn('s', userTurn('d', { fence: 9 }))).toMatchObject({ status: 'committed' });
        expect(await store.commitTurn('s', userTurn('e', { fence: 8, inboundId: 'fresh' }))).toEqual({ status: 'stale_fence', highestFence: 9 });
        expect((await store.getChatHistory('s')).filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['a', 'c', 'd']);
        // The rejected commit did not record its inbound id.
        expect(await store.commitTurn('s', userTurn('e', { fence: 9, inboundId: 'fresh' }))).toMatchObject({ status: 'committed' });
        // Fences are per session.
        expect(await store.commitTurn('other', userTurn('x', { fence: 1 }))).toMatchObject({ status: 'committed' });
      });

      it('the fence survives clearSession (a zombie worker still cannot commit)', async () => {
        const store = await open();
        await store.commitTurn('s', userTurn('a', { fence: 7 }));
        await store.clearSession('s');
        expect(await store.commitTurn('s', userTurn('zombie', { fence: 6 }))).toEqual({ status: 'stale_fence', highestFence: 7 });
        expect(await store.getEntries('s')).toEqual([]);
      });
    });

    describe('store maxMessages', () => {
      it('bounds what history and entries serve while cursors keep going', async () => {
        const store = await open(5);
        for (let i = 1; i <= 12; i++) await store.addMessage('s', 'user', `m${i}`);
        expect((await store.getChatHistory('s')).map((m) => m.content)).toEqual(['m8', 'm9', 'm10', 'm11', 'm12']);
        expect(await store.getChatHistory('s', 100)).toHaveLength(5);
        expect((await store.getChatHistory('s', 2)).map((m) => m.content)).toEqual(['m11', 'm12']);
        expect(cursorsOf(await store.getEntries('s'))).toEqual([8, 9, 10, 11, 12]);
        expect(cursorsOf(await store.getEntries('s', { after: 2, limit: 2 }))).toEqual([8, 9]);
        expect(cursorsOf(await store.getEntries('s', { after: 10 }))).toEqual([11, 12]);
        expect(await store.getSession('s')).toMatchObject({ messageCount: 5, lastCursor: 12 });
        expect(await store.commitTurn('s', userTurn('x'))).toEqual({ status: 'committed', cursors: [13, 14] });
      });

      it('a commit larger than maxMessages is stored whole and served from its end', async () => {
        const store = await open(3);
        const res = await store.commitTurn('s', { entries: range(1, 7).map((i) => ({ role: 'user' as const, content: `e${i}` })) });
        expect(res).toEqual({ status: 'committed', cursors: range(1, 7) });
        expect(cursorsOf(await store.getEntries('s'))).toEqual([5, 6, 7]);
        expect((await store.getSession('s'))!.lastCursor).toBe(7);
      });

      it('keeps serving the newest window across many appends', async () => {
        const store = await open(10);
        for (let i = 1; i <= 400; i++) await store.addMessage('s', i % 2 ? 'user' : 'assistant', `m${i}`);
        expect(cursorsOf(await store.getEntries('s'))).toEqual(range(391, 400));
        expect((await store.getChatHistory('s')).map((m) => m.content)).toEqual(range(391, 400).map((i) => `m${i}`));
        expect(await store.getSession('s')).toMatchObject({ messageCount: 10, lastCursor: 400 });
      });
    });

    describe('metadata', () => {
      it('updateMetadata creates the session, shallow-merges, and null removes a key', async () => {
        const store = await open();
        await store.updateMetadata('s', { a: 1, b: 'two', nested: { x: 1 } });
        expect(await store.sessionExists('s')).toBe(true);
        expect(await store.getChatHistory('s')).toEqual([]);
        expect(await store.getSession('s')).toMatchObject({ messageCount: 0, lastCursor: 0, metadata: { a: 1, b: 'two', nested: { x: 1 } } });
        await store.updateMetadata('s', { b: 3, c: [1, 'x', true], nested: { y: 2 } });
        expect((await store.getSession('s'))!.metadata).toEqual({ a: 1, b: 3, c: [1, 'x', true], nested: { y: 2 } });
        await store.updateMetadata('s', { a: null, missing: null });
        expect((await store.getSession('s'))!.metadata).toEqual({ b: 3, c: [1, 'x', true], nested: { y: 2 } });
      });

      it('metadata survives clearSession and messages', async () => {
        const store = await open(3);
        await store.updateMetadata('s', { user: 'ann' });
        for (let i = 0; i < 20; i++) await store.addMessage('s', 'user', `m${i}`);
        await store.clearSession('s');
        await store.addMessage('s', 'user', 'after');
        expect((await store.getSession('s'))!.metadata).toEqual({ user: 'ann' });
      });

      it('objects handed in or out are copies: mutating them does not change the store', async () => {
        const store = await open();
        const md = { tag: 'orig' };
        await store.addMessage('s', 'user', 'hi', md);
        md.tag = 'mutated by caller';
        await store.updateMetadata('s', { k: 'v' });
        const info = await store.getSession('s');
        info!.metadata.k = 'hacked';
        const listed = await store.listSessions();
        listed[0]!.metadata.k = 'hacked too';
        const entries = await store.getEntries('s');
        entries[0]!.content = 'changed';
        entries[0]!.metadata!.tag = 'changed';
        expect((await store.getSession('s'))!.metadata).toEqual({ k: 'v' });
        expect((await store.listSessions())[0]!.metadata).toEqual({ k: 'v' });
        const again = await store.getEntries('s');
        expect(again[0]).toMatchObject({ content: 'hi', metadata: { tag: 'orig' } });
      });
    });

    describe('getSession and listSessions', () => {
      it('getSession reports id, times, messageCount and lastCursor', async () => {
        const store = await open();
        const t0 = Date.now();
        await store.commitTurn('s', userTurn('a'));
        const first = await store.getSession('s');
        expect(first).toMatchObject({ id: 's', messageCount: 2, lastCursor: 2, metadata: {} });
        expect(first!.createdAt).toBeGreaterThanOrEqual(t0 - 1);
        expect(first!.updatedAt).toBeGreaterThanOrEqual(first!.createdAt);
        await sleep(TICK_MS);
        await store.addMessage('s', 'user', 'b');
        const second = await store.getSession('s');
        expect(second).toMatchObject({ messageCount: 3, lastCursor: 3, createdAt: first!.createdAt });
        expect(second!.updatedAt).toBeGreaterThan(first!.updatedAt);
      });

      it('listSessions orders by newest activity first and honours limit', async () => {
        const store = await open();
        for (const id of ['s1', 's2', 's3']) {
          await store.addMessage(id, 'user', `hi from ${id}`);
          await sleep(TICK_MS);
        }
        expect((await store.listSessions()).map((s) => s.id)).toEqual(['s3', 's2', 's1']);
        await store.addMessage('s1', 'user', 'back again');
        await sleep(TICK_MS);
        const listed = await store.listSessions();
        expect(listed.map((s) => s.id)).toEqual(['s1', 's3', 's2']);
        expect(listed[0]).toMatchObject({ id: 's1', messageCount: 2, lastCursor: 2 });
        expect(listed[0]!.updatedAt).toBeGreaterThanOrEqual(listed[1]!.updatedAt);
        expect((await store.listSessions({ limit: 2 })).map((s) => s.id)).toEqual(['s1', 's3']);
        await store.updateMetadata('s2', { seen: true });
        const afterMeta = await store.listSessions({ limit: 1 });
        expect(afterMeta.map((s) => [s.id, s.metadata])).toEqual([['s2', { seen: true }]]);
      });

      it('listSessions on an empty store is empty', async () => {
        const store = await open();
        expect(await store.listSessions()).toEqual([]);
      });
    });

    describe('session ids', () => {
      it('is injective: look-alike ids are distinct sessions', async () => {
        const store = await open();
        const ids = ['a.b', 'a_b', 'A_b', 'a%2Eb', 'a%2eb', 'a-b', 'a b', 'café', 'cafe\u0301', 'x'.repeat(1024), `${'x'.repeat(1023)}y`];
        for (const id of ids) await store.addMessage(id, 'user', `content of ${id}`);
        for (const id of ids) {
          expect(await store.getChatHistory(id)).toEqual([{ role: 'user', content: `content of ${id}` }]);
          expect((await store.getSession(id))!.id).toBe(id);
        }
        expect((await store.listSessions({ limit: 1000 })).map((s) => s.id).sort()).toEqual([...ids].sort());
        expect(await store.deleteSession('a.b')).toBe(true);
        expect(await store.sessionExists('a_b')).toBe(true);
        expect(await store.sessionExists('a%2Eb')).toBe(true);
      });

      it('hostile ids round-trip as normal sessions', async () => {
        const store = await open();
        for (const [i, id] of HOSTILE_IDS.entries()) {
          expect(await store.addMessage(id, 'user', `hostile #${i}`)).toBe(true);
          await store.updateMetadata(id, { i });
        }
        for (const [i, id] of HOSTILE_IDS.entries()) {
          expect(await store.sessionExists(id)).toBe(true);
          expect(await store.getChatHistory(id)).toEqual([{ role: 'user', content: `hostile #${i}` }]);
          expect(await store.getSession(id)).toMatchObject({ id, messageCount: 1, lastCursor: 1, metadata: { i } });
        }
        expect((await store.listSessions({ limit: 1000 })).map((s) => s.id).sort()).toEqual([...HOSTILE_IDS].sort());
        for (const id of HOSTILE_IDS) {
          expect(await store.clearSession(id)).toBe(true);
          expect(await store.deleteSession(id)).toBe(true);
          expect(await store.sessionExists(id)).toBe(false);
        }
        expect(await store.listSessions()).toEqual([]);
      });

      it('rejects an empty, too long, non-string or malformed id with INVALID_SESSION_ID from every method', async () => {
        const store = await open();
        const bad: unknown[] = ['', 'x'.repeat(1025), 42, undefined, 'lone \uD800 surrogate'];
        for (const raw of bad) {
          const id = raw as string;
          await expectCode(store.addMessage(id, 'user', 'x'), 'INVALID_SESSION_ID');
          await expectCode(store.getChatHistory(id), 'INVALID_SESSION_ID');
          await expectCode(store.clearSession(id), 'INVALID_SESSION_ID');
          await expectCode(store.deleteSession(id), 'INVALID_SESSION_ID');
          await expectCode(store.sessionExists(id), 'INVALID_SESSION_ID');
          await expectCode(store.commitTurn(id, userTurn('x')), 'INVALID_SESSION_ID');
          await expectCode(store.getEntries(id), 'INVALID_SESSION_ID');
          await expectCode(store.getSession(id), 'INVALID_SESSION_ID');
          await expectCode(store.updateMetadata(id, { a: 1 }), 'INVALID_SESSION_ID');
        }
        expect(await store.listSessions()).toEqual([]);
      });
    });

    describe('bad commits', () => {
      const bad: Array<[string, unknown]> = [
        ['no entries', { entries: [] }],
        ['entries missing', {}],
        ['a bad role', { entries: [{ role: 'admin', content: 'x' }] }],
        ['a bad role after a good entry', { entries: [{ role: 'user', content: 'ok' }, { role: 'root', content: 'x' }] }],
        ['non-string content', { entries: [{ role: 'user', content: 42 }] }],
        ['null content', { entries: [{ role: 'user', content: null }] }],
        ['array metadata', { entries: [{ role: 'user', content: 'x', metadata: [1] }] }],
        ['an empty inbound id', { inboundId: '', entries: [{ role: 'user', content: 'x' }] }],
        ['a negative fence', { fence: -1, entries: [{ role: 'user', content: 'x' }] }],
        ['a fractional fence', { fence: 1.5, entries: [{ role: 'user', content: 'x' }] }],
      ];
      for (const [what, commit] of bad) {
        it(`rejects a commit with ${what} (INVALID_COMMIT) and stores nothing`, async () => {
          const store = await open();
          await expectCode(store.commitTurn('s', commit as TurnCommit), 'INVALID_COMMIT');
          expect(await store.sessionExists('s')).toBe(false);
          await store.addMessage('s', 'user', 'ok');
          await expectCode(store.commitTurn('s', commit as TurnCommit), 'INVALID_COMMIT');
          expect(cursorsOf(await store.getEntries('s'))).toEqual([1]);
        });
      }

      it('addMessage with a bad role or content is INVALID_COMMIT too', async () => {
        const store = await open();
        await expectCode(store.addMessage('s', 'wizard' as never, 'x'), 'INVALID_COMMIT');
        await expectCode(store.addMessage('s', 'user', { text: 'x' } as never), 'INVALID_COMMIT');
        expect(await store.sessionExists('s')).toBe(false);
      });
    });

    describe('concurrency in one process', () => {
      it('200 concurrent appends get 200 distinct consecutive cursors', async () => {
        const store = await open();
        const results = await Promise.all(range(0, 199).map((i) => store.addMessage('hot', 'user', `c${i}`)));
        expect(results.every((r) => r === true)).toBe(true);
        const entries = await store.getEntries('hot');
        expect(cursorsOf(entries)).toEqual(range(1, 200));
        expect(new Set(entries.map((e) => e.content)).size).toBe(200);
      });

      it('200 concurrent two-entry commits never interleave', async () => {
        const store = await open();
        const results = await Promise.all(range(0, 199).map((i) => store.commitTurn('hot', userTurn(`t${i}`, { inboundId: `in-${i}` }))));
        const firsts = results.map((r) => {
          expect(r.status).toBe('committed');
          const cursors = (r as { cursors: number[] }).cursors;
          expect(cursors[1]).toBe(cursors[0]! + 1);
          return cursors[0]!;
        });
        expect([...firsts].sort((a, b) => a - b)).toEqual(range(0, 199).map((i) => 1 + 2 * i));
        const entries = await store.getEntries('hot');
        expect(cursorsOf(entries)).toEqual(range(1, 400));
        for (let k = 0; k < 400; k += 2) expect(entries[k + 1]!.content).toBe(`re: ${entries[k]!.content}`);
      });

      it('concurrent writes to many sessions keep each session consistent', async () => {
        const store = await open();
        await Promise.all(range(0, 19).flatMap((s) => range(0, 9).map((i) => store.addMessage(`s${s}`, 'user', `m${i}`))));
        for (let s = 0; s < 20; s++) {
          const entries = await store.getEntries(`s${s}`);
          expect(cursorsOf(entries)).toEqual(range(1, 10));
          expect(entries.map((e) => e.content)).toEqual(range(0, 9).map((i) => `m${i}`));
        }
        expect(await store.listSessions()).toHaveLength(20);
      });
    });
  });
}
