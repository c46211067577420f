/**
 * An API transformer (grammY's hook around every Bot API call) that honours 429 Too Many
 * Requests: wait `parameters.retry_after` seconds and send the same call again, up to a few
 * times. A wait longer than `maxRetryAfterSeconds` is not waited out (the 429 is returned and the
 * caller decides), so a flood-wait of hours cannot hang a reply.
 */
import type { Transformer } from 'grammy';
import { TELEGRAM_DEFAULTS } from './config.js';

export interface RateLimitOptions {
  maxRetries?: number;
  maxRetryAfterSeconds?: number;
  /** Told about every wait (logs, metrics). */
  onWait?: (method: string, seconds: number) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function rateLimitTransformer(options: RateLimitOptions = {}): Transformer {
  const maxRetries = options.maxRetries ?? TELEGRAM_DEFAULTS.maxRateLimitRetries;
  const maxWait = options.maxRetryAfterSeconds ?? TELEGRAM_DEFAULTS.maxRetryAfterSeconds;
  return async (prev, method, payload, signal) => {
    for (let attempt = 0; ; attempt++) {
      const res = await prev(method, payload, signal);
      if (res.ok || res.error_code !== 429 || attempt >= maxRetries) return res;
      const seconds = res.parameters?.retry_after ?? 1;
      if (seconds > maxWait) return res;
      options.onWait?.(method, seconds);
      await sleep(seconds * 1000);
    }
  };
}

/** Removes every occurrence of the bot token from a text (error messages may carry request URLs). */
export function redactToken(text: string, token: string): string {
  if (!token) return text;
  let out = text.split(token).join('[token]');
  // The numeric bot id before the colon is public; the secret half alone must not leak either.
  const secret = token.split(':')[1];
  if (secret && secret.length >= 8) out = out.split(secret).join('[token]');
  return out;
}
