/**
 * A `ChatModel` for any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, LM Studio,
 * OpenRouter …): history in, text deltas out, every failure thrown as a `ModelError`.
 *
 * Streamed replies (the default, and every turn's hot path) go through chat-completions-stream.ts:
 * SSE read straight off `node:http`, about a fifth of the CPU per call of the Vercel AI SDK
 * provider's web-stream pipeline — with thousands of slow model calls in flight, that CPU is
 * what limits a worker's turns/s. `stream: false` calls the provider's `doGenerate` (not
 * `generateText`: a text-only chat needs none of its tool loop or telemetry). Both report
 * failures as the SDK's `APICallError`, mapped in model-errors.ts.
 */
import type { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { ChatModel, ModelRequest } from '../core/model.js';
import type { ChatMessage } from '../core/session-store.js';
import { abortErrorFrom } from './abort.js';
import type { ChatCompletionPart } from './chat-completions-stream.js';
import { isRetryableAPICallError, retryDelayMs, toModelError, type EndpointContext } from './model-errors.js';

type ProviderChatModel = ReturnType<ReturnType<typeof createOpenAICompatible>['chatModel']>;
type CallOptions = Parameters<ProviderChatModel['doStream']>[0];
type ProviderPrompt = CallOptions['prompt'];

export interface OpenAICompatibleModelOptions {
  /** e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama). */
  baseURL: string;
  /** Sent as `Authorization: Bearer …`; omit for local servers that need none. */
  apiKey?: string;
  model: string;
  temperature?: number;
  maxOutputTokens?: number;
  /**
   * Retries of a failed request (retryable statuses only, before any reply text), waiting as
   * the endpoint's `retry-after(-ms)` says or 2 s, 4 s, … Default 0: retrying is the turn queue's job.
   */
  maxRetries?: number;
  /** Extra request headers (e.g. OpenRouter's `HTTP-Referer`). */
  headers?: Record<string, string>;
  /**
   * Default true. False asks for the whole reply in one response (`stream: false`), for servers
   * that cannot stream; the reply then arrives as a single delta.
   */
  stream?: boolean;
}

export const OPENAI_COMPATIBLE_DEFAULTS = Object.freeze({
  maxRetries: 0,
  /** The provider name the AI SDK uses for `providerOptions` keys and in its own errors. */
  providerName: 'openai-compatible',
} as const);

/**
 * @example
 * const model = createOpenAICompatibleModel({ baseURL: 'http://127.0.0.1:11434/v1', model: 'llama3.2' });
 * for await (const delta of model.stream({ system: 'Be brief.', messages })) process.stdout.write(delta);
 */
export function createOpenAICompatibleModel(opts: OpenAICompatibleModelOptions): ChatModel {
  // The streaming client (node:http(s) and the connection pool) and the provider (for
  // `stream: false` only) load on their first call, not at start-up: `bot chat` with the echo
  // model loads neither.
  let streamClient: Promise<typeof import('./chat-completions-stream.js')> | undefined;
  const loadStreamClient = () => (streamClient ??= import('./chat-completions-stream.js'));
  let provider: Promise<ProviderChatModel> | undefined;
  const loadProvider = () =>
    (provider ??= import('@ai-sdk/openai-compatible').then((compat) =>
      compat
        .createOpenAICompatible({
          name: OPENAI_COMPATIBLE_DEFAULTS.providerName,
          baseURL: opts.baseURL,
          ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
          ...(opts.headers ? { headers: opts.headers } : {}),
          // Streams report their token usage in a last chunk only when asked (`stream_options`).
          includeUsage: true,
        })
        .chatModel(opts.model),
    ));
  const endpoint: EndpointContext = {
    model: opts.model,
    baseURL: displayURL(opts.baseURL),
    secrets: secretsOf(opts),
  };
  const maxRetries = opts.maxRetries ?? OPENAI_COMPATIBLE_DEFAULTS.maxRetries;
  const baseURL = opts.baseURL.replace(/\/+$/, '');
  const requestHeaders: Record<string, string> = {
    ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
    ...lowerCased(opts.headers ?? {}),
  };

  return {
    description: `${opts.model} @ ${endpoint.baseURL}`,
    async *stream({ system, messages, signal, onUsage }) {
      // Our own controller too, so a consumer that stops iterating early also ends the HTTP
      // request. It follows the caller's signal through a listener removed when the call ends,
      // not AbortSignal.any: the caller's signal serves every turn of a drain, and Node 20 keeps
      // each call's combined signal on it (~2.6 KB per call, measured) for as long as it lives.
      const local = new AbortController();
      const follow = () => local.abort(signal?.reason);
      if (signal?.aborted) follow();
      else signal?.addEventListener('abort', follow, { once: true });
      const abortSignal = local.signal;
      // A reply read to its end needs no abort (an abort builds an error and tears the request
      // down, paid by every turn exactly when answers arrive together).
      let complete = false;
      try {
        if (opts.stream === false) {
          const languageModel = await loadProvider();
          const call: CallOptions = {
            prompt: toPrompt(system, messages),
            ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
            ...(opts.maxOutputTokens !== undefined ? { maxOutputTokens: opts.maxOutputTokens } : {}),
            abortSignal,
          };
          const { content, usage } = await withRetries(maxRetries, abortSignal, () => languageModel.doGenerate(call));
          complete = true;
          reportUsage(onUsage, usage && { inputTokens: usage.inputTokens.total, outputTokens: usage.outputTokens.total });
          const text = content.map((part) => (part.type === 'text' ? part.text : '')).join('');
          if (text !== '') yield text;
          return;
        }
        const request = {
          baseURL,
          headers: requestHeaders,
          body: {
            model: opts.model,
            messages: toChatMessages(system, messages),
            ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
            ...(opts.maxOutputTokens !== undefined ? { max_tokens: opts.maxOutputTokens } : {}),
          },
          signal: abortSignal,
        };
        const { streamChatCompletion } = await loadStreamClient();
        // Retries happen before the first part only: the request is sent by the first `next()`.
        const { parts, first } = await withRetries(maxRetries, abortSignal, async () => {
          const parts = streamChatCompletion(request);
          return { parts, first: await parts.next() };
        });
        try {
          for (let next = first; !next.done; next = await parts.next()) {
            const part: ChatCompletionPart = next.value;
            if (part.type === 'delta') yield part.text;
            else reportUsage(onUsage, part);
          }
          complete = !abortSignal.aborted;
        } finally {
          // Stopped early: ends the request (the connection is not reused).
          if (!complete) await parts.return(undefined);
        }
        // A stream that ended because the call was aborted is not a reply.
        if (abortSignal.aborted) throw abortErrorFrom(abortSignal);
      } catch (error) {
        if (signal?.aborted) throw abortErrorFrom(signal);
        throw toModelError(error, endpoint);
      } finally {
        signal?.removeEventListener('abort', follow);
        if (!complete) local.abort();
      }
    },
  };
}

/** Token usage as the seam's `onUsage` report, when the endpoint sent any. */
function reportUsage(onUsage: ModelRequest['onUsage'], usage: { inputTokens: number | undefined; outputTokens: number | undefined } | undefined): void {
  const input = usage?.inputTokens;
  const output = usage?.outputTokens;
  if (!onUsage || (input === undefined && output === undefined)) return;
  onUsage({ ...(input !== undefined ? { inputTokens: input } : {}), ...(output !== undefined ? { outputTokens: output } : {}) });
}

/**
 * `request`, tried again up to `maxRetries` times while it fails with a retryable status
 * (408/409/429/5xx), after the endpoint's `retry-after-ms` / `retry-after` or 2 s, 4 s, …
 */
async function withRetries<T>(maxRetries: number, signal: AbortSignal, request: () => PromiseLike<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= maxRetries || signal.aborted || !isRetryableAPICallError(error)) throw error;
      await abortableSleep(retryDelayMs(error, 2_000 * 2 ** attempt), signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      reject(abortErrorFrom(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The history in the provider's prompt format (system entries stay where they are). */
function toPrompt(system: string | undefined, messages: readonly ChatMessage[]): ProviderPrompt {
  const prompt: ProviderPrompt = system !== undefined ? [{ role: 'system', content: system }] : [];
  for (const message of messages) prompt.push(toPromptMessage(message));
  return prompt;
}

/**
 * A text-only `tool` entry has no tool-call id, which the provider's tool messages require; it
 * is passed as a labelled user-side note so the model still sees it.
 */
function toPromptMessage(message: ChatMessage): ProviderPrompt[number] {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: [{ type: 'text', text: message.content }] };
    case 'assistant':
      return { role: 'assistant', content: [{ type: 'text', text: message.content }] };
    case 'tool':
      return { role: 'user', content: [{ type: 'text', text: `[tool output]\n${message.content}` }] };
  }
}

/** The history as chat-completions messages (system entries stay where they are). */
function toChatMessages(system: string | undefined, messages: readonly ChatMessage[]): Array<{ role: string; content: string }> {
  const out = system !== undefined ? [{ role: 'system', content: system }] : [];
  for (const message of messages) {
    out.push(message.role === 'tool' ? { role: 'user', content: `[tool output]\n${message.content}` } : { role: message.role, content: message.content });
  }
  return out;
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The base URL as shown in descriptions and errors: credentials in the URL are dropped. */
function displayURL(baseURL: string): string {
  const url = parseURL(baseURL);
  if (!url || (!url.username && !url.password)) return baseURL;
  url.username = '';
  url.password = '';
  return url.toString();
}

/** What must never appear in an error: the key, a URL password, credential-like header values. */
function secretsOf(opts: OpenAICompatibleModelOptions): string[] {
  const headerSecrets = Object.entries(opts.headers ?? {})
    .filter(([name]) => /auth|key|token|secret|cookie/i.test(name))
    .map(([, value]) => value);
  const candidates = [opts.apiKey, parseURL(opts.baseURL)?.password, ...headerSecrets];
  return candidates.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

function parseURL(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
