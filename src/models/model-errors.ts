/**
 * Failures of an OpenAI-compatible endpoint → `ModelError`, decided in one table. `retryable`
 * drives the turn queue: 408/409/429/5xx and network failures may pass on their own, other 4xx
 * will not. Messages name the endpoint and say what to fix; they never carry a secret.
 */
import { inspect } from 'node:util';
import type { APICallError, RetryError } from 'ai';

// The AI SDK's own isInstance checks look for these markers; checking them here keeps the SDK
// out of the start-up path (it loads only when a real model is first called).
const isRetryError = (e: unknown): e is RetryError => hasMarker(e, 'vercel.ai.error.AI_RetryError');
const isAPICallError = (e: unknown): e is APICallError => hasMarker(e, 'vercel.ai.error.AI_APICallError');
function hasMarker(e: unknown, marker: string): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[Symbol.for(marker)] === true;
}
import { ModelError } from '../core/errors.js';

/** What an error message may mention about the endpoint, plus what it must never contain. */
export interface EndpointContext {
  model: string;
  /** Display form of the base URL (no userinfo). */
  baseURL: string;
  /** API key and credential-like header values: scrubbed from messages and causes. */
  secrets: readonly string[];
}

interface StatusDecision {
  retryable: boolean;
  /** `detail` is the endpoint's own message (redacted), prefixed with ": ", or "". */
  message(ctx: EndpointContext, detail: string): string;
}

const BY_STATUS: Readonly<Record<number, StatusDecision>> = Object.freeze({
  // The endpoint's own 401 text is dropped: OpenAI echoes part of the key in it.
  401: { retryable: false, message: (c) => `the model endpoint at ${c.baseURL} rejected the API key (401): set a valid OPENAI_API_KEY (or the agent's api_key)` },
  403: {
    retryable: false,
    message: (c, d) => `the model endpoint refused access to model "${c.model}" (403)${d}: check the API key's permissions`,
  },
  404: {
    retryable: false,
    message: (c) => `model "${c.model}" not found at ${c.baseURL} (404): check the agent's model (BOT_MODEL) and OPENAI_BASE_URL`,
  },
  408: { retryable: true, message: (c, d) => `the model endpoint at ${c.baseURL} timed out (408)${d}` },
  409: { retryable: true, message: (c, d) => `the model endpoint at ${c.baseURL} reported a conflict (409)${d}` },
  429: { retryable: true, message: (c, d) => `the model endpoint at ${c.baseURL} is rate limiting requests (429)${d}` },
});

function decisionFor(status: number): StatusDecision {
  const known = BY_STATUS[status];
  if (known) return known;
  if (status >= 500) {
    return { retryable: true, message: (c, d) => `the model endpoint at ${c.baseURL} failed (${status})${d}` };
  }
  return { retryable: false, message: (c, d) => `the model endpoint at ${c.baseURL} rejected the request (${status})${d}` };
}

/** A failed request the endpoint may answer next time (408/409/429/5xx, as the AI SDK marks them). */
export function isRetryableAPICallError(error: unknown): boolean {
  return isAPICallError(error) && error.isRetryable === true;
}

/**
 * How long to wait before retrying `error`: the endpoint's `retry-after-ms` or `retry-after`
 * (seconds or a date) when it gives one under a minute, else `fallbackMs`.
 */
export function retryDelayMs(error: unknown, fallbackMs: number): number {
  const headers = isAPICallError(error) ? error.responseHeaders : undefined;
  let ms: number | undefined;
  const afterMs = headers?.['retry-after-ms'];
  if (afterMs !== undefined) ms = Number.parseFloat(afterMs);
  const after = headers?.['retry-after'];
  if ((ms === undefined || Number.isNaN(ms)) && after !== undefined) {
    const seconds = Number.parseFloat(after);
    ms = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
  }
  return ms !== undefined && ms >= 0 && ms < 60_000 ? ms : fallbackMs;
}

/** Error codes (anywhere in the cause chain) that mean "the network, not the request". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** Maps anything the AI SDK surfaced (thrown or as a stream `error` part) to a `ModelError`. */
export function toModelError(error: unknown, ctx: EndpointContext): ModelError {
  if (error instanceof ModelError) return error;
  // An SDK retry wrapper (streamText/generateText with maxRetries > 0) carries the last failure: it decides.
  const failure = isRetryError(error) ? error.lastError : error;
  const cause = scrubbedCause(error, ctx.secrets);

  // A status below 400 here means the body broke after a 200 (the connection dropped mid-reply).
  const status = isAPICallError(failure) ? failure.statusCode : undefined;
  if (status !== undefined && status >= 400) {
    const decision = decisionFor(status);
    const detail = failure instanceof Error && failure.message ? `: ${clip(redact(failure.message, ctx.secrets))}` : '';
    return new ModelError(decision.message(ctx, detail), decision.retryable, { cause });
  }
  const networkCode = findNetworkCode(failure);
  if (networkCode !== undefined || (isAPICallError(failure) && failure.isRetryable)) {
    const what = status === undefined ? 'cannot reach the model endpoint' : 'lost the connection mid-reply to the model endpoint';
    return new ModelError(
      `${what} at ${ctx.baseURL} (${networkCode ?? 'network error'}): check that it is running and OPENAI_BASE_URL is right`,
      true,
      { cause },
    );
  }
  const text = failure instanceof Error ? failure.message : String(failure);
  return new ModelError(`the model call to ${ctx.baseURL} failed: ${clip(redact(text, ctx.secrets))}`, false, { cause });
}

/** The first network error code in the cause chain; undici's bare "terminated" counts too. */
function findNetworkCode(error: unknown): string | undefined {
  let terminated = false;
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (e instanceof TypeError && e.message === 'terminated') terminated = true;
  }
  return terminated ? 'connection terminated' : undefined;
}

/**
 * The original error, kept for debugging, unless a secret shows up anywhere inside it (an
 * endpoint may echo the key in its response body); then only a redacted message survives.
 */
function scrubbedCause(error: unknown, secrets: readonly string[]): unknown {
  const dump = inspect(error, { depth: 6 });
  if (!secrets.some((s) => s && dump.includes(s))) return error;
  return new Error(redact(error instanceof Error ? error.message : String(error), secrets));
}

function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, s) => (s ? t.split(s).join('[redacted]') : t), text);
}

function clip(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
