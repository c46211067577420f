import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';
import { sessionStoreContract } from '../contract/session-store.contract.js';

sessionStoreContract('MemorySessionStore', async ({ maxMessages }) => {
  const store = new MemorySessionStore({ maxMessages });
  return { store, cleanup: () => store.close() };
});

describe('MemorySessionStore', () => {
  it('keeps sessions per instance (nothing shared through globals)', async () => {
    const a = new MemorySessionStore();
    const b = new MemorySessionStore();
    await a.addMessage('s', 'user', 'only in a');
    expect(await a.sessionExists('s')).toBe(true);
    expect(await b.sessionExists('s')).toBe(false);
    expect(await b.getChatHistory('s')).toEqual([]);
  });

  it('defaults to serving 1000 messages', async () => {
    const store = new MemorySessionStore();
    for (let i = 0; i < 1005; i++) await store.addMessage('s', 'user', `m${i}`);
    const history = await store.getChatHistory('s');
    expect(history).toHaveLength(1000);
    expect(history[0]!.content).toBe('m5');
  });
});
