/**
 * Webhook authenticity: Telegram sends the `secret_token` given to setWebhook in the
 * `X-Telegram-Bot-Api-Secret-Token` header of every update. Compared in constant time (both
 * sides hashed first, so neither length nor content leaks through timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True only when `header` is present (one value) and equals `secret`. */
export function verifySecretToken(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || secret.length === 0) return false;
  return timingSafeEqual(digest(header), digest(secret));
}
