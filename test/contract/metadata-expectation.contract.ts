/**
 * `updateMetadataIf`, the compare-and-merge every store offers (part of the session store
 * contract): applied only when the expected values hold, atomically with other writes.
 */
import { describe, expect, it } from 'vitest';
import type { SessionLog } from '../../src/core/session-store.js';

export function metadataExpectationContract(open: () => Promise<SessionLog>): void {
  describe('updateMetadataIf (compare-and-merge)', () => {
    it('applies only when every expected value holds; a missing session holds no keys', async () => {
      const store = await open();
      expect(await store.updateMetadataIf('m1', { owner: 'alice' }, { x: 1 })).toBe(false);
      expect(await store.getSession('m1')).toBeNull();
      expect(await store.updateMetadataIf('m1', { owner: null }, { owner: 'alice', n: [1, { a: 'b' }] })).toBe(true);
      expect(await store.updateMetadataIf('m1', { owner: null }, { owner: 'bob' })).toBe(false);
      expect(await store.updateMetadataIf('m1', { owner: 'bob' }, { pin: 1 })).toBe(false);
      expect(await store.updateMetadataIf('m1', { owner: 'alice', n: [1, { a: 'b' }] }, { pin: 2, n: null })).toBe(true);
      expect((await store.getSession('m1'))!.metadata).toEqual({ owner: 'alice', pin: 2 });
      expect(await store.deleteSession('m1')).toBe(true);
      expect(await store.updateMetadataIf('m1', { owner: 'alice' }, { pin: 3 })).toBe(false);
      expect(await store.getSession('m1')).toBeNull();
    });

    it('of many concurrent claims exactly one applies', async () => {
      const store = await open();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.updateMetadataIf('claimed', { owner: null }, { owner: `u${i}` })));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.getSession('claimed'))!.metadata.owner).toBe(`u${results.indexOf(true)}`);
    });
  });
}
