/** The ChatModel contract, run against every implementation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatModel } from '../../src/core/model.js';
import { createEchoModel } from '../../src/models/echo-model.js';
import { createOpenAICompatibleModel } from '../../src/models/openai-compatible-model.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});

const implementations: Array<[string, () => ChatModel]> = [
  ['echo', () => createEchoModel()],
  ['openai-compatible', () => createOpenAICompatibleModel({ baseURL: fake.url, apiKey: 'fake-key-for-tests', model: 'fake-model' })],
];

describe.each(implementations)('ChatModel contract: %s', (_name, make) => {
  const messages = [{ role: 'user' as const, content: 'tell me something about streaming' }];

  it('has a description', () => {
    expect(make().description.length).toBeGreaterThan(0);
  });

  it('yields several non-empty string deltas whose concatenation is the reply', async () => {
    const deltas: string[] = [];
    for await (const delta of make().stream({ system: 'be brief', messages })) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((d) => typeof d === 'string' && d.length > 0)).toBe(true);
    expect(deltas.join('')).toContain('streaming');
  });

  it('throws an AbortError (not a ModelError) when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = async () => {
      for await (const _ of make().stream({ messages, signal: controller.signal })) void _;
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('can be stopped early by the consumer and used again', async () => {
    const model = make();
    for await (const _ of model.stream({ messages })) break;
    let again = '';
    for await (const delta of model.stream({ messages })) again += delta;
    expect(again.length).toBeGreaterThan(0);
  });
});
