/** Errors that mean "the queue did not take the turn now" (storage unavailable, shutting down): try again later. */
import { BotHostError } from '../core/errors.js';

const REFUSAL_CODES = new Set(['STORE_FAILED', 'QUEUE_CLOSED', 'LOCK_TIMEOUT']);

export function isQueueRefusal(err: unknown): boolean {
  return err instanceof BotHostError && REFUSAL_CODES.has(err.code);
}
