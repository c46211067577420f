/**
 * A streamed chat completion (`POST {baseURL}/chat/completions` with `stream: true`), read as
 * server-sent events straight off Node's response stream: text deltas out, then the token usage.
 * This is the hot path of every turn, so it does no more than the wire needs — no web streams,
 * no schema validation of each chunk (a chunk without text is skipped) — at about a fifth of
 * the AI SDK provider's CPU per call, which decides how many turns one worker carries.
 *
 * Failures are the AI SDK's `APICallError`s, built as its OpenAI-compatible provider builds them
 * (status, the endpoint's `error.message`, response headers for `retry-after`, retryable for
 * 408/409/429/5xx), so model-errors.ts maps them the same way; a connection lost after the
 * 200 is a retryable one with status 200.
 */
import type { IncomingMessage } from 'node:http';
import { abortErrorFrom } from './abort.js';
import { openRequest } from './http-client.js';
import { TickBudget } from './tick-budget.js';

export interface ChatCompletionRequest {
  /** The base URL without a trailing slash, e.g. `http://127.0.0.1:11434/v1`. */
  baseURL: string;
  headers: Record<string, string>;
  /** The request body; `stream` and `stream_options` are added here. */
  body: Record<string, unknown>;
  signal: AbortSignal;
}

export type ChatCompletionPart =
  | { type: 'delta'; text: string }
  | { type: 'usage'; inputTokens: number | undefined; outputTokens: number | undefined };

/**
 * Model calls sent, and answers taken up, per event-loop iteration in this process (see
 * tick-budget.ts): about 64 turns' worth of work between two chances for the lease timers.
 */
export const CALLS_PER_TICK = 64;
const budget = new TickBudget(CALLS_PER_TICK);

/** Error bodies longer than this are cut (an endpoint's error JSON is a few hundred bytes). */
const MAX_ERROR_BODY = 64 * 1024;

export async function* streamChatCompletion(request: ChatCompletionRequest): AsyncGenerator<ChatCompletionPart> {
  const url = new URL(`${request.baseURL}/chat/completions`);
  const body = JSON.stringify({ ...request.body, stream: true, stream_options: { include_usage: true } });
  await budget.take();
  const { response, detach } = await openRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...request.headers },
    body,
    signal: request.signal,
  });
  let ended = false;
  try {
    await budget.take();
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) throw await statusError(url, response, status);
    response.setEncoding('utf8');
    const events = new SseLines();
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    try {
      for await (const text of response as AsyncIterable<string>) {
        for (const data of events.push(text)) {
          if (data === '[DONE]') continue;
          const chunk = parseChunk(data);
          if (chunk.error !== undefined) throw new Error(errorText(chunk.error));
          if (chunk.usage) usage = chunk.usage;
          const delta = textOf(chunk.choices?.[0]?.delta?.content);
          if (delta !== '') yield { type: 'delta', text: delta };
        }
      }
    } catch (error) {
      if (request.signal.aborted) throw abortErrorFrom(request.signal);
      if (!isConnectionLoss(error)) throw error;
    }
    if (!response.complete) throw await midReplyError(url, response);
    ended = true;
    yield { type: 'usage', inputTokens: usage?.prompt_tokens ?? undefined, outputTokens: usage?.completion_tokens ?? undefined };
  } finally {
    detach();
    // Stopped early or failed: the connection cannot be reused mid-body.
    if (!ended) response.destroy();
  }
}

interface Chunk {
  choices?: Array<{ delta?: { content?: unknown } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

function parseChunk(data: string): Chunk {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null ? (value as Chunk) : {};
  } catch {
    throw new Error(`the model endpoint sent an event that is not JSON: ${data.slice(0, 200)}`);
  }
}

/**
 * A delta's text: a string, or (some servers) an array of content parts whose `text` parts count;
 * other parts (a reasoning model's `thinking`) are not reply text.
 */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part?.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

function errorText(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : error;
  return typeof message === 'string' && message !== '' ? message : JSON.stringify(error);
}

/** The response stream broke (reset, premature close) rather than the reply being bad. */
function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error instanceof Error && error.message === 'aborted');
}

/** The `data` of each complete server-sent event, across chunk boundaries (`\n` or `\r\n`). */
export class SseLines {
  private rest = '';
  private data: string[] = [];

  push(text: string): string[] {
    const events: string[] = [];
    const lines = (this.rest + text).split('\n');
    this.rest = lines.pop()!;
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        if (this.data.length > 0) events.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      }
      // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing a chat reply needs.
    }
    return events;
  }
}

async function statusError(url: URL, response: IncomingMessage, status: number): Promise<Error> {
  const responseBody = await readText(response);
  let message = response.statusMessage ?? `HTTP ${status}`;
  let data: unknown;
  try {
    data = JSON.parse(responseBody);
    const text = (data as { error?: { message?: unknown } }).error?.message;
    if (typeof text === 'string') message = text;
    else data = undefined;
  } catch {
    data = undefined;
  }
  const { APICallError } = await import('ai');
  return new APICallError({
    message,
    url: url.href,
    requestBodyValues: undefined,
    statusCode: status,
    responseHeaders: headersOf(response),
    responseBody,
    ...(data !== undefined ? { data } : {}),
    isRetryable: status === 408 || status === 409 || status === 429 || status >= 500,
  });
}

async function midReplyError(url: URL, response: IncomingMessage): Promise<Error> {
  const { APICallError } = await import('ai');
  return new APICallError({
    message: 'the connection closed before the reply ended',
    url: url.href,
    requestBodyValues: undefined,
    statusCode: response.statusCode,
    responseHeaders: headersOf(response),
    isRetryable: true,
  });
}

function headersOf(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

async function readText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response as AsyncIterable<string>) if (text.length < MAX_ERROR_BODY) text += chunk;
  return text.slice(0, MAX_ERROR_BODY);
}
