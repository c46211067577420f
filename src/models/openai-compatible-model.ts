/**
 * A `ChatModel` for any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, LM Studio,
 * OpenRouter …) through the Vercel AI SDK. The SDK does the wire protocol; this file only
 * adapts the seam: history in, text deltas out, every failure thrown as a `ModelError`.
 */
import type { LanguageModel, ModelMessage } from 'ai';
import type { ChatModel, ModelRequest } from '../core/model.js';
import type { ChatMessage } from '../core/session-store.js';
import { abortErrorFrom } from './abort.js';
import { toModelError, type EndpointContext } from './model-errors.js';

export interface OpenAICompatibleModelOptions {
  /** e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama). */
  baseURL: string;
  /** Sent as `Authorization: Bearer …`; omit for local servers that need none. */
  apiKey?: string;
  model: string;
  temperature?: number;
  maxOutputTokens?: number;
  /** The AI SDK's own retries per call. Default 0: retrying is the turn queue's job. */
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
  // The SDK is loaded on the first call, not at start-up (it costs ~150 ms to import).
  let sdk:
    | Promise<{ streamText: typeof import('ai').streamText; generateText: typeof import('ai').generateText; languageModel: LanguageModel }>
    | undefined;
  const loadSdk = () =>
    (sdk ??= Promise.all([import('ai'), import('@ai-sdk/openai-compatible')]).then(([ai, compat]) => ({
      streamText: ai.streamText,
      generateText: ai.generateText,
      languageModel: compat
        .createOpenAICompatible({
          name: OPENAI_COMPATIBLE_DEFAULTS.providerName,
          baseURL: opts.baseURL,
          ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
          ...(opts.headers ? { headers: opts.headers } : {}),
          // Streams report their token usage in a last chunk only when asked (`stream_options`).
          includeUsage: true,
        })
        .chatModel(opts.model),
    })));
  const endpoint: EndpointContext = {
    model: opts.model,
    baseURL: displayURL(opts.baseURL),
    secrets: secretsOf(opts),
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
      try {
        const { streamText, generateText, languageModel } = await loadSdk();
        const call = {
          model: languageModel,
          ...(system !== undefined ? { system } : {}),
          messages: messages.map(toModelMessage),
          // System entries in history are written by the host itself, not by users.
          allowSystemInMessages: true,
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
          ...(opts.maxOutputTokens !== undefined ? { maxOutputTokens: opts.maxOutputTokens } : {}),
          maxRetries: opts.maxRetries ?? OPENAI_COMPATIBLE_DEFAULTS.maxRetries,
          abortSignal,
        };
        if (opts.stream === false) {
          // generateText throws on failure (no error parts to watch for).
          const { text, usage } = await generateText(call);
          reportUsage(onUsage, usage);
          if (text !== '') yield text;
          return;
        }
        // The default onError logs the raw error to stderr; failures arrive as `error` parts below instead.
        const result = streamText({ ...call, onError: () => {} });
        // fullStream, not textStream: textStream silently drops `error` parts and just ends.
        for await (const part of result.fullStream) {
          if (part.type === 'text-delta') {
            if (part.text !== '') yield part.text;
          } else if (part.type === 'error') {
            throw part.error;
          } else if (part.type === 'abort') {
            throw abortErrorFrom(abortSignal);
          } else if (part.type === 'finish') {
            reportUsage(onUsage, part.totalUsage);
          }
        }
      } catch (error) {
        if (signal?.aborted) throw abortErrorFrom(signal);
        throw toModelError(error, endpoint);
      } finally {
        signal?.removeEventListener('abort', follow);
        local.abort();
      }
    },
  };
}

function reportUsage(onUsage: ModelRequest['onUsage'], usage: { inputTokens: number | undefined; outputTokens: number | undefined } | undefined): void {
  if (!onUsage || !usage || (usage.inputTokens === undefined && usage.outputTokens === undefined)) return;
  onUsage({ ...(usage.inputTokens !== undefined ? { inputTokens: usage.inputTokens } : {}), ...(usage.outputTokens !== undefined ? { outputTokens: usage.outputTokens } : {}) });
}

/**
 * A text-only `tool` entry has no tool-call id, which the SDK's tool messages require; it is
 * passed as a labelled user-side note so the model still sees it.
 */
function toModelMessage(message: ChatMessage): ModelMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'assistant':
      return { role: 'assistant', content: message.content };
    case 'tool':
      return { role: 'user', content: `[tool output]\n${message.content}` };
  }
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
