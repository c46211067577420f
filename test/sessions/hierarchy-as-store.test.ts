/**
 * A HierarchicalSessionStore is itself a SessionLog: over a session that was never forked or
 * reverted it must pass the same store contract as the store it wraps (file and memory here).
 */
import { promises as fsp } from 'node:fs';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { HierarchicalSessionStore } from '../../src/sessions/hierarchy/hierarchical-session-store.js';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';
import { sessionStoreContract } from '../contract/session-store.contract.js';
import { TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();

sessionStoreContract('HierarchicalSessionStore over MemorySessionStore', async ({ maxMessages }) => {
  const store = new HierarchicalSessionStore(new MemorySessionStore({ maxMessages }));
  return { store, cleanup: () => store.close() };
});

sessionStoreContract('HierarchicalSessionStore over FileSessionStore', async ({ maxMessages }) => {
  const dir = await tmp.make('bothost-hier-store-');
  const store = new HierarchicalSessionStore(new FileSessionStore({ dir, maxMessages }));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
});
