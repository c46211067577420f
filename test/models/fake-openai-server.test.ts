/** The fake endpoint itself, over plain fetch: other suites and spawned CLIs rely on its wire format. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

const chat = (body: unknown, path = '/chat/completions') =>
  fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const messages = [
  { role: 'user', content: 'a' },
  { role: 'assistant', content: 'b' },
  { role: 'user', content: [{ type: 'text', text: 'c' }] },
];

describe('fake OpenAI server', () => {
  it('listens on 127.0.0.1 with a /v1 base URL', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('answers stream:false with a chat.completion body and usage', async () => {
    const res = await chat({ model: 'm', messages });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'fake: 2 user turn(s); last="c"' }, finish_reason: 'stop' }],
    });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(fake.requests[0]?.body).toEqual({ model: 'm', messages });
  });

  it('answers stream:true with several SSE chunks, a stop chunk, usage on request, then [DONE]', async () => {
    const res = await chat({ model: 'm', messages, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(content).toBe('fake: 2 user turn(s); last="c"');
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(2);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
  });

  it('uses a custom responder, sync or async', async () => {
    fake.setResponder(async (body) => ({ text: `model was ${body.model}`, delayMs: 5 }));
    const body = (await (await chat({ model: 'x', messages })).json()) as any;
    expect(body.choices[0].message.content).toBe('model was x');
  });

  it('failNext fails exactly that many requests with an OpenAI-style error', async () => {
    fake.failNext(429, 2);
    const first = await chat({ model: 'm', messages });
    expect(first.status).toBe(429);
    expect(await first.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', type: 'requests' } });
    expect((await chat({ model: 'm', messages })).status).toBe(429);
    expect((await chat({ model: 'm', messages })).status).toBe(200);
    expect(fake.requests).toHaveLength(3);
  });

  it('failNext takes a custom body', async () => {
    fake.failNext(500, 1, { error: { message: 'boom' } });
    expect(await (await chat({ model: 'm', messages })).json()).toEqual({ error: { message: 'boom' } });
  });

  it('unknown routes → 404 JSON error, recorded', async () => {
    const res = await fetch(`${fake.url}/embeddings`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.message).toContain('GET /v1/embeddings');
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/embeddings' });
  });

  it('close is idempotent and the port stops answering', async () => {
    await fake.close();
    await fake.close();
    await expect(chat({ model: 'm', messages })).rejects.toThrow();
  });
});
