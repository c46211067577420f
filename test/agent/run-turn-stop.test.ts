/**
 * Stopping a turn (the web chat's Stop): aborting its signal with a TurnStopRequest commits what
 * the model wrote so far, marked stopped; any other abort (a timeout, a lost lease) still fails the
 * turn. RunningTurns stops only the session's running turn, and only the one named.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { runTurn, STOPPED_EMPTY_REPLY } from '../../src/agent/run-turn.js';
import { TurnStopRequest, type TurnRequest } from '../../src/core/turn-queue.js';
import { RunningTurns } from '../../src/host/running-turns.js';
import { createOpenAICompatibleModel } from '../../src/models/openai-compatible-model.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

const LONG = Array.from({ length: 100 }, (_, i) => `t${i}`).join(' ');
let fake: FakeOpenAI;
let dir: string;
let store: FileSessionStore;
let agent: Agent;
beforeEach(async () => {
  fake = await startFakeOpenAI({ responder: () => ({ text: LONG, delayMs: 20 }) });
  dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-stop-'));
  store = new FileSessionStore({ dir });
  agent = { id: 'assistant', name: 'Assistant', instructions: '', maxHistory: 50, model: createOpenAICompatibleModel({ baseURL: fake.url, apiKey: 'fake-key-for-tests', model: 'fake-model' }) };
});
afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const request = (messageId: string): TurnRequest => ({
  sessionId: 'bot_web_s',
  agent: 'assistant',
  inbound: { platform: 'web', botId: 'gateway', chatId: 's', userId: 'u', messageId, text: 'go', isDirect: true, mentionsBot: true, receivedAt: Date.now() },
});
const deps = () => ({ store, agents: () => agent });

describe('stopping a turn', () => {
  it('a stop mid-stream commits the words so far, marked stopped', async () => {
    const controller = new AbortController();
    const result = await runTurn(deps(), request('m1'), {
      signal: controller.signal,
      onPartial: (text) => {
        if (text.length > 30) controller.abort(new TurnStopRequest());
      },
    });
    expect(result.stopped).toBe(true);
    expect(LONG.startsWith(result.reply)).toBe(true);
    expect(result.reply.length).toBeGreaterThan(30);
    expect(result.reply.length).toBeLessThan(LONG.length);
    const entries = await store.getEntries('bot_web_s');
    expect(entries.map((e) => [e.role, e.content])).toEqual([['user', 'go'], ['assistant', result.reply]]);
    expect(entries[1]!.metadata).toMatchObject({ stopped: true });
  });

  it('a stop before the first word commits a marker; another abort reason fails the turn and commits nothing', async () => {
    const stopped = new AbortController();
    stopped.abort(new TurnStopRequest());
    expect(await runTurn(deps(), request('m1'), { signal: stopped.signal })).toMatchObject({ stopped: true, reply: STOPPED_EMPTY_REPLY });
    const timedOut = new AbortController();
    const turn = runTurn(deps(), request('m2'), { signal: timedOut.signal, onPartial: () => timedOut.abort(new DOMException('too long', 'TimeoutError')) });
    await expect(turn).rejects.toMatchObject({ name: 'TimeoutError' });
    expect((await store.getEntries('bot_web_s')).length).toBe(2);
  });

  it('RunningTurns stops the running turn of a session, only the one named, once', async () => {
    const running = new RunningTurns();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let seen: AbortSignal | undefined;
    const done = running.run(request('m1'), async (signal) => {
      seen = signal;
      await gate;
      return 'ok';
    });
    expect(running.stop('bot_web_other')).toBe(false);
    expect(running.stop('bot_web_s', 'not-m1')).toBe(false);
    expect(seen!.aborted).toBe(false);
    expect(running.stop('bot_web_s', 'm1')).toBe(true);
    expect(seen!.reason).toBeInstanceOf(TurnStopRequest);
    expect(running.stop('bot_web_s')).toBe(false); // already stopping
    release();
    expect(await done).toBe('ok');
    expect(running.stop('bot_web_s')).toBe(false); // ended: nothing to stop
  });
});
