/**
 * Turns of forked and reverted sessions, through the real AI SDK against the fake OpenAI
 * server: the model is sent exactly the session's stitched history, commits go to the
 * session's own log, and a retried turn on a fork still makes no second model call.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { runTurn, type TurnDeps } from '../../src/agent/run-turn.js';
import { createOpenAICompatibleModel } from '../../src/models/openai-compatible-model.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { HierarchicalSessionStore } from '../../src/sessions/hierarchy/hierarchical-session-store.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

let fake: FakeOpenAI;
let dir: string;
let store: FileSessionStore;
let sessions: HierarchicalSessionStore;
let deps: TurnDeps;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-turn-h-'));
  store = new FileSessionStore({ dir });
  sessions = new HierarchicalSessionStore(store);
  const agent: Agent = {
    id: 'a',
    name: 'A',
    instructions: 'sys',
    maxHistory: 50,
    model: createOpenAICompatibleModel({ baseURL: fake.url, apiKey: 'fake-key-for-tests', model: 'fake-model' }),
  };
  deps = { store, agents: () => agent, history: sessions };
});

afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const turn = (sessionId: string, messageId: string, text: string) =>
  runTurn(deps, {
    sessionId,
    agent: 'a',
    inbound: { platform: 'telegram', botId: 'tg', chatId: '1', userId: '1', messageId, text, isDirect: true, mentionsBot: false, receivedAt: Date.now() },
  });
const sentTexts = () => fake.requests.at(-1)!.body.messages.slice(1).map((m: { content: string }) => m.content);

describe('runTurn through the hierarchy', () => {
  it('a fork is sent its inherited history plus its own; the parent its own only', async () => {
    await turn('p', 'm1', 'one');
    await turn('p', 'm2', 'two');
    await sessions.forkSession('p', { id: 'f', fromCursor: 2 });
    const r = await turn('f', 'm3', 'three');
    expect(r.reply).toBe('fake: 2 user turn(s); last="three"');
    expect(sentTexts()).toEqual(['one', 'fake: 1 user turn(s); last="one"', 'three']);
    // Commits land in the fork's own log (store cursors), the parent is untouched.
    expect(r.cursor).toBe(2);
    expect((await store.getEntries('f')).map((e) => e.content)).toEqual(['three', r.reply]);
    expect((await sessions.getEntries('f')).map((e) => e.cursor)).toEqual([1, 2, 3, 4]);
    await turn('p', 'm4', 'four');
    expect(sentTexts()).toEqual(['one', 'fake: 1 user turn(s); last="one"', 'two', 'fake: 2 user turn(s); last="two"', 'four']);

    const calls = fake.requests.length;
    const again = await turn('f', 'm3', 'three'); // a redelivery on the fork
    expect(fake.requests.length).toBe(calls);
    expect(again).toMatchObject({ duplicate: true, reply: r.reply });
  });

  it('after a revert the model no longer sees the reverted messages', async () => {
    await turn('s', 'm1', 'keep');
    const snap = await sessions.createSnapshot('s');
    await turn('s', 'm2', 'forget me');
    await sessions.revertToSnapshot('s', snap);
    const r = await turn('s', 'm3', 'next');
    expect(r.reply).toBe('fake: 2 user turn(s); last="next"');
    expect(sentTexts()).not.toContain('forget me');
  });

  it('a plain session reads exactly what the store alone would give', async () => {
    await turn('plain', 'm1', 'a');
    await turn('plain', 'm2', 'b');
    expect(sentTexts()).toEqual(['a', 'fake: 1 user turn(s); last="a"', 'b']);
    expect(await sessions.getChatHistory('plain')).toEqual(await store.getChatHistory('plain'));
  });
});
