/**
 * Request authenticity for Slack's HTTP deliveries (events, slash commands): Slack signs
 * `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret (HMAC-SHA256) and
 * sends `v0=<hex>` in `X-Slack-Signature`. A request is accepted only when the signature matches
 * (compared in constant time) and the timestamp is within `maxAgeSeconds` of now in either
 * direction, so a captured request cannot be replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-slack-signature';
export const TIMESTAMP_HEADER = 'x-slack-request-timestamp';

export type VerifyResult = { ok: true } | { ok: false; reason: 'missing headers' | 'malformed timestamp' | 'stale timestamp' | 'bad signature' };

export interface VerifyInput {
  signingSecret: string;
  /** The raw body exactly as received (bytes matter: one changed byte fails). */
  body: string | Buffer;
  signature: string | string[] | undefined;
  timestamp: string | string[] | undefined;
  /** Seconds; default 300. */
  maxAgeSeconds?: number;
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number;
}

/** `v0=<hex>` for a body signed at `timestamp` (seconds). Used by the tests' fake Slack too. */
export function slackSignature(signingSecret: string, timestamp: number | string, body: string | Buffer): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}

export function verifySlackSignature(input: VerifyInput): VerifyResult {
  const { signature, timestamp } = input;
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || input.signingSecret.length === 0) return { ok: false, reason: 'missing headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  const nowSeconds = Math.floor((input.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (input.maxAgeSeconds ?? 300)) return { ok: false, reason: 'stale timestamp' };
  const expected = Buffer.from(slackSignature(input.signingSecret, timestamp, input.body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}
