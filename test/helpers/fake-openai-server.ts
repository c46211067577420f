/**
 * A fake OpenAI-compatible endpoint: a real HTTP server on 127.0.0.1 speaking the chat
 * completions wire format (JSON and SSE streaming), so tests run the real AI SDK against it.
 * Point anything at `url` (in-process, or a spawned CLI via OPENAI_BASE_URL).
 *
 * @example
 * const fake = await startFakeOpenAI();
 * fake.failNext(429);                  // the next request gets an OpenAI-style 429
 * fake.setResponder(() => ({ text: 'slow hello', delayMs: 50 }));
 * await fake.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The request body as sent by a client (only what the fake reads is typed). */
export interface FakeChatBody {
  model?: string;
  messages?: Array<{ role: string; content: unknown }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [field: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Parsed JSON body (undefined for an empty or non-JSON body). */
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A reply text, or a text with `delayMs` (pause before each streamed chunk, before the body if
 * not streaming) and `hangUpAfterChunks` (streaming only: destroy the socket after that many
 * content chunks, like a proxy or server dying mid-reply).
 */
export type FakeReply = string | { text: string; delayMs?: number; hangUpAfterChunks?: number };
export type FakeResponder = (body: FakeChatBody) => FakeReply | Promise<FakeReply>;

export interface FakeOpenAIOptions {
  responder?: FakeResponder;
  /** Keep only the newest this-many requests in `requests` (long chaos runs); default all. */
  keepRequests?: number;
  /** When set, a request without `Authorization: Bearer <apiKey>` is answered 401 (invalid_api_key). */
  apiKey?: string;
  /** What `GET /v1/models` lists; default `['fake-model']`. */
  models?: string[];
  /**
   * Pause before every chat reply (before its first chunk when streaming), on top of any
   * responder `delayMs`: a model that takes this long to answer. Default 0.
   */
  replyDelayMs?: number;
  /**
   * How long an idle keep-alive connection stays open (Node's default: 5 s). Hosted endpoints
   * keep theirs open for a minute or more; a 5 s one races clients that reuse a connection just
   * as the server closes it.
   */
  keepAliveTimeoutMs?: number;
  /** The listen backlog (default 511; the kernel caps it at net.core.somaxconn): raise it when thousands of clients connect at once. */
  backlog?: number;
}

/** Chat requests being answered right now, and the most there were at once. */
export interface FakeOpenAIStats {
  inFlight: number;
  peakInFlight: number;
  /** Chat requests answered in full. */
  completed: number;
  /** TCP connections accepted since start: fewer than requests means clients reused them (keep-alive). */
  connections: number;
}

export interface FakeOpenAI {
  /** Base URL ending in `/v1`, e.g. `http://127.0.0.1:54321/v1`. */
  url: string;
  /**
   * Every request received, in order, failed ones included — except `GET /v1/models`, which every
   * role that runs turns sends once at start-up: those are in `modelListings`, so counting
   * `requests` counts model calls.
   */
  requests: RecordedRequest[];
  /** Every `GET /v1/models` received (start-up checks, `bot doctor`). */
  modelListings: RecordedRequest[];
  setResponder(responder: FakeResponder): void;
  /**
   * The next `times` chat requests fail with `status` and an OpenAI-style error body (or `body`).
   * `ECHO_REQUEST` anywhere in `body` becomes the request line and headers (Authorization
   * included), like a careless upstream that echoes what it got: secret-hygiene tests.
   * Failures carry `retry-after-ms: 0` so SDK-level retries in tests do not sleep.
   */
  failNext(status: number, times?: number, body?: unknown): void;
  /** Chat requests in flight now, the peak since start (or `resetPeak`), and answered ones. */
  stats(): FakeOpenAIStats;
  /** Start counting the peak afresh from the requests in flight now. */
  resetPeak(): void;
  /** Stops the server and drops open connections. Safe to call twice. */
  close(): Promise<void>;
}

/** `fake: 2 user turn(s); last="hello"`: deterministic, and shows what the server received. */
export const defaultFakeResponder: FakeResponder = (body) => {
  const users = (body.messages ?? []).filter((m) => m.role === 'user');
  return `fake: ${users.length} user turn(s); last="${textOf(users.at(-1)?.content)}"`;
};

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  let responder = options.responder ?? defaultFakeResponder;
  const failures: Array<{ status: number; body: unknown }> = [];
  const requests: RecordedRequest[] = [];
  const modelListings: RecordedRequest[] = [];
  let completionCount = 0;
  const stats: FakeOpenAIStats = { inFlight: 0, peakInFlight: 0, completed: 0, connections: 0 };

  // Thousands of slow requests at once must all be held: no cap on connections, and the
  // default header (60 s) and request (300 s) timeouts are far above any reply delay.
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `fake server bug: ${String(error)}`, 'server_error');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const body = parseJson(raw);
    const recorded = { method: req.method ?? 'GET', path, body, headers: { ...req.headers } };
    if (req.method === 'GET' && path === '/v1/models') modelListings.push(recorded);
    else requests.push(recorded);
    if (requests.length > (options.keepRequests ?? Infinity)) requests.shift();

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, openAIError(401, 'Incorrect API key provided.'));
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: (options.models ?? ['fake-model']).map((id) => ({ id, object: 'model', owned_by: 'fake' })) });
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', 'unknown_url');
    }
    const failure = failures.shift();
    if (failure) return sendJson(res, failure.status, withRequestEchoed(failure.body, req), { 'retry-after-ms': '0' });
    if (!isObject(body)) return sendError(res, 400, 'request body is not JSON', 'invalid_request_error');

    stats.peakInFlight = Math.max(stats.peakInFlight, ++stats.inFlight);
    res.once('close', () => {
      stats.inFlight--;
      if (res.writableFinished) stats.completed++;
    });
    if (options.replyDelayMs) await sleep(options.replyDelayMs);
    if (res.destroyed) return;
    const reply = await responder(body as FakeChatBody);
    const { text, delayMs = 0, hangUpAfterChunks } = typeof reply === 'string' ? { text: reply } : reply;
    const meta = { id: `chatcmpl-fake-${++completionCount}`, created: Math.floor(Date.now() / 1000), model: String(body.model ?? '') };
    const usage = usageFor(body as FakeChatBody, text);
    if (body.stream === true) {
      const includeUsage = (body as FakeChatBody).stream_options?.include_usage === true;
      return streamReply(res, meta, text, { delayMs, hangUpAfterChunks, usage: includeUsage ? usage : undefined });
    }
    if (delayMs > 0) await sleep(delayMs);
    sendJson(res, 200, {
      ...meta,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage,
    });
  }

  server.on('connection', () => void stats.connections++);
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', options.backlog ?? 511, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    modelListings,
    setResponder(next) {
      responder = next;
    },
    failNext(status, times = 1, body) {
      for (let i = 0; i < times; i++) failures.push({ status, body: body ?? openAIError(status) });
    },
    stats: () => ({ ...stats }),
    resetPeak() {
      stats.peakInFlight = stats.inFlight;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

type ChunkMeta = { id: string; created: number; model: string };

/** SSE: a role chunk with the first words, one chunk per further word, a stop chunk, `[DONE]`. */
async function streamReply(
  res: ServerResponse,
  meta: ChunkMeta,
  text: string,
  opts: { delayMs: number; hangUpAfterChunks: number | undefined; usage: object | undefined },
): Promise<void> {
  const { delayMs, hangUpAfterChunks, usage } = opts;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (data: unknown) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  const chunk = (delta: object, finish: string | null) => ({
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

  const pieces = text.split(/(?<=\s)(?=\S)/u);
  for (const [i, piece] of pieces.entries()) {
    if (delayMs > 0) await sleep(delayMs);
    // The client aborted: stop, like a real server. (Not `req.destroyed`: a fully read request is destroyed.)
    if (res.destroyed) return;
    if (i === hangUpAfterChunks) return void res.socket?.destroy();
    send(chunk(i === 0 ? { role: 'assistant', content: piece } : { content: piece }, null));
  }
  send(chunk({}, 'stop'));
  if (usage) send({ ...meta, object: 'chat.completion.chunk', choices: [], usage });
  send('[DONE]');
  res.end();
}

/** The error JSON OpenAI sends, keyed on status so clients see realistic type/code fields. */
export function openAIError(status: number, message = `fake failure (${status})`): unknown {
  const [type, code] =
    status === 401 ? ['invalid_request_error', 'invalid_api_key']
    : status === 404 ? ['invalid_request_error', 'model_not_found']
    : status === 429 ? ['requests', 'rate_limit_exceeded']
    : status >= 500 ? ['server_error', null]
    : ['invalid_request_error', null];
  return { error: { message, type, param: null, code } };
}

function usageFor(body: FakeChatBody, text: string) {
  const words = (s: string) => s.split(/\s+/u).filter(Boolean).length;
  const prompt_tokens = (body.messages ?? []).reduce((n, m) => n + words(textOf(m.content)), 0);
  const completion_tokens = words(text);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/** Message content is a string or an array of parts; the fake only cares about the text. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
  }
  return '';
}

/** Placeholder in a failure body replaced by the request's method, URL and headers. */
export const ECHO_REQUEST = '{request}';

function withRequestEchoed(body: unknown, req: IncomingMessage): unknown {
  const json = JSON.stringify(body);
  if (!json.includes(ECHO_REQUEST)) return body;
  const echoed = `${req.method} ${req.url} ${JSON.stringify(req.headers)}`;
  return JSON.parse(json.split(ECHO_REQUEST).join(JSON.stringify(echoed).slice(1, -1))) as unknown;
}

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, param: null, code } });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): any {
  try {
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
