/** The hierarchy contract over MemorySessionStore (plus most of the property test's sequences: it is the fastest). */
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';
import { hierarchyContract } from '../contract/hierarchy.contract.js';

hierarchyContract(
  'MemorySessionStore',
  async ({ maxMessages }) => {
    const store = new MemorySessionStore({ maxMessages });
    return { store, cleanup: () => store.close() };
  },
  { sequences: 300 },
);
