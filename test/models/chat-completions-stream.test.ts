/**
 * The streamed chat-completions client (node:http + SSE) against the fake OpenAI-compatible
 * server, and a raw HTTP server on 127.0.0.1 where a case needs the connection itself to misbehave.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streamChatCompletion, SseLines, type ChatCompletionPart } from '../../src/models/chat-completions-stream.js';
import { openAIError, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { waitFor } from '../helpers/wait-for.js';

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await fake.close();
});

const hello = { model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] };

function call(baseURL: string, signal = new AbortController().signal, body: Record<string, unknown> = hello) {
  return streamChatCompletion({ baseURL, headers: { authorization: 'Bearer k' }, body, signal });
}

async function collect(parts: AsyncIterable<ChatCompletionPart>): Promise<ChatCompletionPart[]> {
  const out: ChatCompletionPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

async function thrown(run: () => Promise<unknown>): Promise<any> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('streamChatCompletion', () => {
  it('streams the deltas, then the usage, and asks for a stream with usage', async () => {
    const parts = await collect(call(fake.url));
    const deltas = parts.filter((p) => p.type === 'delta').map((p) => (p as { text: string }).text);
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe('fake: 1 user turn(s); last="hello"');
    expect(parts.at(-1)).toMatchObject({ type: 'usage', inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
    expect(fake.requests[0]?.body).toMatchObject({ model: 'fake-model', stream: true, stream_options: { include_usage: true } });
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer k');
  });

  it('does not go through the global fetch', async () => {
    const original = globalThis.fetch;
    globalThis.fetch = () => Promise.reject(new Error('global fetch called'));
    try {
      expect((await collect(call(fake.url))).length).toBeGreaterThan(1);
    } finally {
      globalThis.fetch = original;
    }
  });

  it('reuses one keep-alive connection for calls one after another', async () => {
    for (let i = 0; i < 4; i++) await collect(call(fake.url));
    expect(fake.stats().completed).toBe(4);
    expect(fake.stats().connections).toBe(1);
  });

  it('keeps every idle connection after a burst larger than Node’s default idle pool (256)', async () => {
    fake.setResponder(() => ({ text: 'ok', delayMs: 100 }));
    const burst = () => Promise.all(Array.from({ length: 300 }, () => collect(call(fake.url))));
    await burst();
    expect(fake.stats().connections).toBe(300);
    await burst();
    expect(fake.stats().connections).toBe(300);
  });

  it('a 429 is a retryable APICallError with the endpoint’s message and retry-after header', async () => {
    fake.failNext(429, 1, openAIError(429, 'slow down'));
    const error = await thrown(() => collect(call(fake.url)));
    expect(error.constructor.name).toBe('APICallError');
    expect(error).toMatchObject({ statusCode: 429, isRetryable: true, message: 'slow down' });
    expect(error.responseHeaders['retry-after-ms']).toBe('0');
  });

  it('a 400 is not retryable; a body that is not JSON gives the status text', async () => {
    fake.failNext(400, 1, openAIError(400, 'bad request body'));
    expect(await thrown(() => collect(call(fake.url)))).toMatchObject({ statusCode: 400, isRetryable: false, message: 'bad request body' });
    fake.failNext(503, 1, 'upstream down');
    expect(await thrown(() => collect(call(fake.url)))).toMatchObject({ statusCode: 503, isRetryable: true, message: 'Service Unavailable' });
  });

  it('a server that is down → TypeError "fetch failed" whose cause carries ECONNREFUSED', async () => {
    const down = await startFakeOpenAI();
    await down.close();
    const error = await thrown(() => collect(call(down.url)));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('ECONNREFUSED');
  });

  it('a connection dropped mid-reply → retryable APICallError with status 200, after the partial deltas', async () => {
    fake.setResponder(() => ({ text: 'one two three four', delayMs: 10, hangUpAfterChunks: 2 }));
    const seen: string[] = [];
    const error = await thrown(async () => {
      for await (const part of call(fake.url)) if (part.type === 'delta') seen.push(part.text);
    });
    expect(seen.join('')).toBe('one two ');
    expect(error).toMatchObject({ statusCode: 200, isRetryable: true });
  });

  it('an abort mid-stream ends the call with the abort reason and closes the connection', async () => {
    fake.setResponder(() => ({ text: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), delayMs: 20 }));
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await thrown(async () => {
      for await (const part of call(fake.url, controller.signal)) {
        if (part.type === 'delta') seen.push(part.text);
        if (seen.length === 2) controller.abort();
      }
    });
    expect(error.name).toBe('AbortError');
    expect(seen).toHaveLength(2);
    await waitFor('the server to see the request end', () => fake.stats().inFlight === 0);
    expect(fake.stats().completed).toBe(0);
  });

  it('an abort after the body ended leaves the pooled connection alone', async () => {
    // The body has ended (the connection is back in the pool) while the caller still holds the
    // call, and the caller's abort (a lost lease, say) comes after that.
    const raw = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"choices":[{"delta":{"content":"b"}}]}\n\ndata: [DONE]\n\n');
    });
    const controller = new AbortController();
    for await (const part of call(raw.url, controller.signal)) {
      if (part.type === 'usage') controller.abort(new Error('lease lost'));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await collect(call(raw.url));
    await raw.close();
    expect(again.filter((p) => p.type === 'delta')).toHaveLength(2);
    expect(raw.connections()).toBe(1);
  });

  it('an already-aborted signal sends nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await thrown(() => collect(call(fake.url, controller.signal)))).name).toBe('AbortError');
    expect(fake.requests).toHaveLength(0);
  });

  it('an error event in the stream is thrown with the endpoint’s message', async () => {
    const raw = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: {"error":{"message":"overloaded"}}\n\n');
    });
    const seen: string[] = [];
    const error = await thrown(async () => {
      for await (const part of call(raw.url)) if (part.type === 'delta') seen.push(part.text);
    });
    await raw.close();
    expect(seen).toEqual(['hi']);
    expect(error.message).toBe('overloaded');
  });

  it('a delta whose content is an array of parts yields its text parts only', async () => {
    const raw = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const parts = [{ type: 'thinking', thinking: [{ type: 'text', text: 'hmm' }] }, { type: 'text', text: 'an' }, { type: 'text', text: 'swer' }];
      res.end(`data: ${JSON.stringify({ choices: [{ delta: { content: parts } }] })}\n\ndata: {"choices":[{"delta":{"content":"!"}}]}\n\ndata: [DONE]\n\n`);
    });
    const parts = await collect(call(raw.url));
    await raw.close();
    expect(parts.filter((p) => p.type === 'delta')).toEqual([{ type: 'delta', text: 'answer' }, { type: 'delta', text: '!' }]);
  });

  it('a reused connection the server closed before replying is retried once on a fresh one', async () => {
    // The second request on any connection is dropped unanswered, as a server closing an idle
    // keep-alive connection just as the request arrives does.
    const perSocket = new WeakMap<Socket, number>();
    const raw = await rawServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n === 2) return void req.socket.destroy();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: {"choices":[{"delta":{"content":"reply"}}]}\n\ndata: [DONE]\n\n`);
    });
    await collect(call(raw.url));
    const parts = await collect(call(raw.url));
    await raw.close();
    expect(parts[0]).toEqual({ type: 'delta', text: 'reply' });
    expect(raw.connections()).toBe(2);
  });
});

describe('SseLines', () => {
  it('splits events across chunk boundaries, CRLF or LF, and joins multi-line data', () => {
    const sse = new SseLines();
    expect(sse.push(': comment\r\nevent: x\r\ndata: {"a"')).toEqual([]);
    expect(sse.push(':1}\r\n\r\ndata:two\ndata: lines\n')).toEqual(['{"a":1}']);
    expect(sse.push('\ndata: [DONE]\n\n')).toEqual(['two\nlines', '[DONE]']);
  });
});

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const server: Server = createServer(handler);
  let connections = 0;
  server.on('connection', () => void connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
