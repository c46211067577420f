import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { inboundText, prepareTurn, runTurn, sendCommit } from '../../src/agent/run-turn.js';
import { LeaseLostError } from '../../src/core/errors.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { createOpenAICompatibleModel } from '../../src/models/openai-compatible-model.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

let fake: FakeOpenAI;
let dir: string;
let store: FileSessionStore;
let agent: Agent;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-turn-'));
  store = new FileSessionStore({ dir });
  agent = {
    id: 'assistant',
    name: 'Assistant',
    instructions: 'You are terse.',
    maxHistory: 50,
    model: createOpenAICompatibleModel({ baseURL: fake.url, apiKey: 'fake-key-for-tests', model: 'fake-model' }),
  };
});

afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const inbound = (messageId: string, text: string): InboundMessage => ({
  platform: 'telegram',
  botId: 'tg',
  chatId: '1',
  userId: '1',
  messageId,
  text,
  isDirect: true,
  mentionsBot: false,
  receivedAt: Date.now(),
});

const request = (messageId: string, text: string) => ({ sessionId: 'bot_telegram_1', agent: 'assistant', inbound: inbound(messageId, text) });
const deps = () => ({ store, agents: () => agent });

describe('runTurn with the real AI SDK over HTTP', () => {
  it('reply k is produced from exactly the k-1 earlier turns (I4), streamed and committed', async () => {
    for (let k = 1; k <= 5; k++) {
      const partials: string[] = [];
      const result = await runTurn(deps(), request(`m${k}`, `question ${k}`), { onPartial: (t) => partials.push(t) });
      expect(result.reply).toBe(`fake: ${k} user turn(s); last="question ${k}"`);
      expect(result.duplicate).toBe(false);
      expect(result.cursor).toBe(2 * k);
      expect(partials.length).toBeGreaterThan(1);
      expect(partials.at(-1)).toBe(result.reply);
    }
    const last = fake.requests.at(-1)!.body;
    expect(last.stream).toBe(true);
    expect(last.messages[0]).toEqual({ role: 'system', content: 'You are terse.' });
    expect(last.messages.filter((m: { role: string }) => m.role === 'user')).toHaveLength(5);
    expect(await store.getChatHistory('bot_telegram_1')).toHaveLength(10);
  });

  it('a retried turn that already committed makes no model call and returns the stored reply (I2)', async () => {
    const first = await runTurn(deps(), request('m1', 'hello'));
    const calls = fake.requests.length;
    const again = await runTurn(deps(), request('m1', 'hello'));
    expect(fake.requests.length).toBe(calls);
    expect(again).toMatchObject({ reply: first.reply, cursor: first.cursor, duplicate: true });
    expect(await store.getChatHistory('bot_telegram_1')).toHaveLength(2);
  });

  it('concurrent attempts of one inbound message commit once', async () => {
    fake.setResponder(() => ({ text: 'slow reply', delayMs: 20 }));
    const results = await Promise.all([1, 2, 3].map(() => runTurn(deps(), request('m1', 'hello'))));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.cursor))).toEqual(new Set([2]));
    expect(await store.getChatHistory('bot_telegram_1')).toHaveLength(2);
  });

  it('a commit with a stale fence is rejected: nothing stored, LeaseLostError', async () => {
    await runTurn(deps(), request('m1', 'one'), { fence: 5 });
    await expect(runTurn(deps(), request('m2', 'two'), { fence: 4 })).rejects.toBeInstanceOf(LeaseLostError);
    // Told apart from a lease found lost before any commit (hold-lease's abort reason).
    await expect(runTurn(deps(), request('m3', 'three'), { fence: 4 })).rejects.toMatchObject({ code: 'LEASE_LOST', fenced: true });
    expect(await store.getChatHistory('bot_telegram_1')).toHaveLength(2);
  });

  it('only the last max_history messages go to the model', async () => {
    agent.maxHistory = 2;
    for (let k = 1; k <= 3; k++) await runTurn(deps(), request(`m${k}`, `q${k}`));
    const sent = fake.requests.at(-1)!.body.messages.map((m: { content: string }) => m.content);
    expect(sent).toEqual(['You are terse.', 'q2', 'fake: 2 user turn(s); last="q2"', 'q3']);
  });

  it('prepareTurn writes nothing and returns the commit; sendCommit writes it; a committed id comes back stored', async () => {
    const ready = await prepareTurn(deps(), request('m1', 'hello'), { fence: 3 });
    if (!('prepared' in ready)) throw new Error('expected a prepared turn');
    const { prepared } = ready;
    expect(prepared).toMatchObject({ reply: 'fake: 1 user turn(s); last="hello"', stopped: false, commit: { inboundId: 'tg:m1', fence: 3 } });
    expect(prepared.commit.entries.map((e) => [e.role, e.content])).toEqual([
      ['user', 'hello'],
      ['assistant', prepared.reply],
    ]);
    expect(await store.getChatHistory('bot_telegram_1')).toHaveLength(0);

    expect(await sendCommit(store, prepared)).toMatchObject({ reply: prepared.reply, cursor: 2, duplicate: false });
    // Sent again (a second attempt's commit): the first one's reply, nothing appended.
    expect(await sendCommit(store, prepared)).toMatchObject({ reply: prepared.reply, cursor: 2, duplicate: true });
    const calls = fake.requests.length;
    expect(await prepareTurn(deps(), request('m1', 'hello'))).toEqual({ stored: expect.objectContaining({ reply: prepared.reply, cursor: 2, duplicate: true }) });
    expect(fake.requests.length).toBe(calls);
    expect(await store.getChatHistory('bot_telegram_1')).toHaveLength(2);
  });

  it('describes attachments to the agent in words', () => {
    const text = inboundText({ ...inbound('x', 'look'), attachments: [{ kind: 'photo', caption: 'my cat' }, { kind: 'document', name: 'a.pdf', mimeType: 'application/pdf' }] });
    expect(text).toBe('look\n[attached photo: my cat]\n[attached document "a.pdf" (application/pdf)]');
  });
});
