/** The hierarchy contract over FileSessionStore: real files, fsync'd, in a temporary directory. */
import { promises as fsp } from 'node:fs';
import { expect } from 'vitest';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { hierarchyContract } from '../contract/hierarchy.contract.js';
import { TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();

hierarchyContract(
  'FileSessionStore',
  async ({ maxMessages }) => {
    const dir = await tmp.make('bothost-hierarchy-');
    const warnings: string[] = [];
    const store = new FileSessionStore({ dir, maxMessages, logger: { warn: (m) => warnings.push(m) } });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await fsp.rm(dir, { recursive: true, force: true });
        expect(warnings).toEqual([]); // the hierarchy never makes the store repair anything
      },
    };
  },
  { sequences: 40 },
);
