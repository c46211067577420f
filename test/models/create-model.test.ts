import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ECHO_FALLBACK_NOTICE, createModel } from '../../src/models/create-model.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

const KEY = 'fake-key-for-tests';
const AGENT_KEY = 'fake-agent-key-for-tests';
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
beforeEach(() => {
  fake.requests.length = 0;
});
afterAll(async () => {
  await fake.close();
});

async function replyOf(model: { stream(r: { messages: { role: 'user'; content: string }[] }): AsyncIterable<string> }) {
  let text = '';
  for await (const delta of model.stream({ messages: [{ role: 'user', content: 'ping' }] })) text += delta;
  return text;
}

describe('createModel', () => {
  it('model "echo" → the echo model, no notice, whatever else is configured', () => {
    const choice = createModel({ model: 'echo' }, { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.url });
    expect(choice.model.description).toBe('echo (offline)');
    expect(choice.notice).toBeUndefined();
  });

  it('nothing configured → echo plus a notice that says what to set', async () => {
    const choice = createModel({ model: 'gpt-4o-mini' }, {});
    expect(choice.model.description).toBe('echo (offline)');
    expect(choice.notice).toBe(ECHO_FALLBACK_NOTICE);
    expect(choice.notice).toContain('OPENAI_BASE_URL');
    expect(await replyOf(choice.model)).toBe('[echo] turn 1: you said "ping"');
  });

  it('empty settings (OPENAI_API_KEY= in .env) count as unset', () => {
    const choice = createModel({ model: 'gpt-4o-mini', api_key: '' }, { OPENAI_API_KEY: '', OPENAI_BASE_URL: '  ' });
    expect(choice.notice).toBe(ECHO_FALLBACK_NOTICE);
  });

  it('a key alone → OpenAI’s default base URL, description without the key', () => {
    const choice = createModel({ model: 'gpt-4o-mini' }, { OPENAI_API_KEY: KEY });
    expect(choice.notice).toBeUndefined();
    expect(choice.model.description).toBe('gpt-4o-mini @ https://api.openai.com/v1');
    expect(choice.model.description).not.toContain(KEY);
  });

  it('a local base URL without a key is fine and sends no authorization header', async () => {
    const choice = createModel({ model: 'llama3.2' }, { OPENAI_BASE_URL: fake.url });
    expect(choice.notice).toBeUndefined();
    expect(choice.model.description).toBe(`llama3.2 @ ${fake.url}`);
    expect(await replyOf(choice.model)).toBe('fake: 1 user turn(s); last="ping"');
    expect(fake.requests[0]?.body.model).toBe('llama3.2');
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('the agent’s base_url and api_key win over the environment', async () => {
    const elsewhere = 'http://127.0.0.1:9/v1'; // would fail if used: nothing listens on port 9
    const choice = createModel(
      { model: 'm', base_url: fake.url, api_key: AGENT_KEY },
      { OPENAI_BASE_URL: elsewhere, OPENAI_API_KEY: KEY },
    );
    await replyOf(choice.model);
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${AGENT_KEY}`);
  });

  it('the environment key is used with the agent’s base_url', async () => {
    const choice = createModel({ model: 'm', base_url: fake.url }, { OPENAI_API_KEY: KEY });
    await replyOf(choice.model);
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('temperature and max_output_tokens reach the wire', async () => {
    const choice = createModel({ model: 'm', base_url: fake.url, temperature: 0.7, max_output_tokens: 300 }, {});
    await replyOf(choice.model);
    expect(fake.requests[0]?.body).toMatchObject({ temperature: 0.7, max_tokens: 300 });
  });
});
