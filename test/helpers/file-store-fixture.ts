/** A FileSessionStore in its own temporary directory, as the contract suites open one. */
import { promises as fsp } from 'node:fs';
import { expect } from 'vitest';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import type { TempDirs } from './temp-dir.js';

/**
 * `cleanup` closes the store, removes its directory and checks it logged no warning: ordinary
 * use (and the hierarchy on top of it) never needs a repair.
 */
export async function openContractFileStore(tmp: TempDirs, dirPrefix: string, maxMessages: number): Promise<{ store: FileSessionStore; cleanup(): Promise<void> }> {
  const dir = await tmp.make(dirPrefix);
  const warnings: string[] = [];
  const store = new FileSessionStore({ dir, maxMessages, logger: { warn: (m) => warnings.push(m) } });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
      expect(warnings).toEqual([]);
    },
  };
}
