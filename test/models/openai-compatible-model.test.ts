/**
 * The real AI SDK provider against the fake OpenAI-compatible server: what goes on the wire,
 * how replies stream back, and how each failure becomes a ModelError.
 */
import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/core/errors.js';
import type { ModelRequest } from '../../src/core/model.js';
import { createOpenAICompatibleModel, type OpenAICompatibleModelOptions } from '../../src/models/openai-compatible-model.js';
import { openAIError, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

const KEY = 'fake-key-for-tests';
let fake: FakeOpenAI;

beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

function model(extra: Partial<OpenAICompatibleModelOptions> = {}) {
  return createOpenAICompatibleModel({ baseURL: fake.url, apiKey: KEY, model: 'fake-model', ...extra });
}

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

/** Runs the stream to its end and returns what it threw (fails the test if it did not throw). */
async function failure(request: ModelRequest, opts: Partial<OpenAICompatibleModelOptions> = {}): Promise<ModelError> {
  try {
    await collect(model(opts).stream(request));
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    return error as ModelError;
  }
  throw new Error('expected the model call to fail');
}

/** How many signals AbortSignal.any has tied to `signal` (Node keeps them under an internal symbol). */
function combinedWith(signal: AbortSignal): number {
  const dependants = (s: AbortSignal) => {
    const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'kDependantSignals');
    return key === undefined ? 0 : ((s as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0);
  };
  // The probe itself: on this Node, a signal passed to AbortSignal.any shows up there.
  const probe = new AbortController().signal;
  const combined = AbortSignal.any([probe]);
  expect(dependants(probe), 'AbortSignal.any no longer records its signals under kDependantSignals: update this probe').toBe(1);
  void combined;
  return dependants(signal);
}

const hello: ModelRequest = { messages: [{ role: 'user', content: 'hello' }] };

describe('openai-compatible model', () => {
  it('streams a reply in several deltas and sends system, history, model and key', async () => {
    const deltas = await collect(
      model({ temperature: 0.2, maxOutputTokens: 64 }).stream({
        system: 'You are terse.',
        messages: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: 'second question' },
        ],
      }),
    );
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe('fake: 2 user turn(s); last="second question"');

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body).toMatchObject({ model: 'fake-model', stream: true, temperature: 0.2, max_tokens: 64 });
    expect(request?.body.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'second question' },
    ]);
  });

  it('stream: false asks for one non-streamed response and yields the whole reply at once', async () => {
    const deltas = await collect(model({ stream: false }).stream({ system: 'Be brief.', messages: [{ role: 'user', content: 'hi there' }] }));
    expect(deltas).toEqual(['fake: 1 user turn(s); last="hi there"']);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.body.stream).toBeFalsy();
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi there' },
    ]);
  });

  it('stream: false maps failures like streaming does (401 non-retryable, 503 retryable, key never shown)', async () => {
    fake.failNext(401, 1, openAIError(401, `bad key ${KEY}`));
    const denied = await failure(hello, { stream: false });
    expect(denied.retryable).toBe(false);
    expect(inspect(denied, { depth: 8 })).not.toContain(KEY);
    fake.failNext(503);
    expect((await failure(hello, { stream: false })).retryable).toBe(true);
  });

  it('sends no authorization header without a key (local servers such as Ollama)', async () => {
    await collect(model({ apiKey: undefined }).stream(hello));
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('keeps system entries from history in place and labels text-only tool entries', async () => {
    await collect(
      model().stream({
        messages: [
          { role: 'system', content: 'note from the host' },
          { role: 'tool', content: '42' },
          { role: 'user', content: 'and?' },
        ],
      }),
    );
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'note from the host' },
      { role: 'user', content: '[tool output]\n42' },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('describes itself by model and base URL, without the key', () => {
    const m = model({ headers: { 'x-api-key': 'fake-header-secret' } });
    expect(m.description).toBe(`fake-model @ ${fake.url}`);
    expect(inspect(m, { depth: 5 })).not.toContain(KEY);
    const withUserinfo = createOpenAICompatibleModel({ baseURL: 'http://bob:fake-pass@127.0.0.1:9/v1', model: 'm' });
    expect(withUserinfo.description).toBe('m @ http://127.0.0.1:9/v1');
  });

  it('401 → non-retryable, tells the operator what to fix, never shows the key', async () => {
    // Real endpoints echo (part of) the key in their 401 text; the fake echoes all of it.
    fake.failNext(401, 1, openAIError(401, `Incorrect API key provided: ${KEY}`));
    const error = await failure(hello);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`the model endpoint at ${fake.url} rejected the API key (401): set a valid OPENAI_API_KEY (or the agent's api_key)`);
    expect(inspect(error, { depth: 10 })).not.toContain(KEY);
    expect(JSON.stringify(error)).not.toContain(KEY);
  });

  it('404 → non-retryable, names the model and the endpoint', async () => {
    fake.failNext(404);
    const error = await failure(hello);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`model "fake-model" not found at ${fake.url}`);
  });

  it('other 4xx → non-retryable with the endpoint message; a key inside it is redacted', async () => {
    fake.failNext(400, 1, openAIError(400, `max_tokens is too large (key ${KEY})`));
    const error = await failure(hello);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('(400): max_tokens is too large (key [redacted])');
    expect(inspect(error, { depth: 10 })).not.toContain(KEY);
  });

  it.each([408, 409, 429, 500, 502, 503])('%i → retryable ModelError', async (status) => {
    fake.failNext(status);
    const error = await failure(hello);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`(${status})`);
    expect(error.code).toBe('MODEL_FAILED');
  });

  it('does not retry by default: retries are the turn queue’s job', async () => {
    fake.failNext(500);
    await failure(hello);
    expect(fake.requests).toHaveLength(1);
  });

  it('honours maxRetries for the SDK’s own retries', async () => {
    fake.failNext(503, 1);
    const deltas = await collect(model({ maxRetries: 1 }).stream(hello));
    expect(deltas.join('')).toBe('fake: 1 user turn(s); last="hello"');
    expect(fake.requests).toHaveLength(2);
  });

  it('maps the last failure after SDK retries are used up', async () => {
    fake.failNext(429, 2);
    const error = await failure(hello, { maxRetries: 1 });
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('(429)');
    expect(fake.requests).toHaveLength(2);
  });

  it('a server that is down → retryable ModelError naming the endpoint', async () => {
    const down = await startFakeOpenAI();
    await down.close();
    let error: unknown;
    try {
      await collect(createOpenAICompatibleModel({ baseURL: down.url, apiKey: KEY, model: 'fake-model' }).stream(hello));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).retryable).toBe(true);
    expect((error as ModelError).message).toContain(`cannot reach the model endpoint at ${down.url} (ECONNREFUSED)`);
  });

  it('a connection dropped mid-reply → retryable ModelError after the partial deltas', async () => {
    fake.setResponder(() => ({ text: 'one two three four five', delayMs: 10, hangUpAfterChunks: 2 }));
    const seen: string[] = [];
    let error: unknown;
    try {
      for await (const delta of model().stream(hello)) seen.push(delta);
    } catch (e) {
      error = e;
    }
    expect(seen.join('')).toBe('one two ');
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).retryable).toBe(true);
    expect((error as ModelError).message).toContain('lost the connection mid-reply');
  });

  it('abort mid-stream → AbortError, not a ModelError, and the stream stops', async () => {
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    fake.setResponder(() => ({ text: words, delayMs: 20 }));
    const controller = new AbortController();
    const seen: string[] = [];
    const run = async () => {
      for await (const delta of model().stream({ ...hello, signal: controller.signal })) {
        seen.push(delta);
        if (seen.length === 2) controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.join('').length).toBeLessThan(words.length);
  });

  it("leaves nothing on the caller's signal after a call, however it ended", async () => {
    // One signal serves every turn of a drain: calls must not pile up on it.
    const drain = new AbortController();
    const request = { ...hello, signal: drain.signal };
    for (let i = 0; i < 3; i++) await collect(model().stream(request));
    fake.failNext(500, 1);
    await expect(collect(model({ maxRetries: 0 }).stream(request))).rejects.toBeInstanceOf(ModelError);
    fake.setResponder(() => ({ text: 'a b c d e f', delayMs: 10 }));
    for await (const delta of model().stream(request)) if (delta) break; // the consumer stops early
    expect(getEventListeners(drain.signal, 'abort')).toHaveLength(0);
    // Nor signals combined with it by AbortSignal.any, which Node keeps (in an internal set) as
    // long as the signal lives.
    expect(combinedWith(drain.signal)).toBe(0);
    expect(drain.signal.aborted).toBe(false);
  });

  it('an already-aborted signal throws before any delta', async () => {
    const controller = new AbortController();
    controller.abort();
    const seen: string[] = [];
    const run = async () => {
      for await (const delta of model().stream({ ...hello, signal: controller.signal })) seen.push(delta);
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([]);
  });
});
