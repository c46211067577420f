/** Checks shared by every store, at the store's edge, so a bad call fails before any I/O. */
import { BotHostError } from '../core/errors.js';
import type { TurnCommit } from '../core/session-store.js';

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
export const MAX_INBOUND_ID_LENGTH = 512;

export function validateCommit(commit: TurnCommit): void {
  if (!Array.isArray(commit.entries) || commit.entries.length === 0) {
    throw new BotHostError('INVALID_COMMIT', 'a commit needs at least one entry');
  }
  for (const e of commit.entries) {
    if (!ROLES.has(e.role)) throw new BotHostError('INVALID_COMMIT', `role must be one of ${[...ROLES].join(', ')}; got "${String(e.role)}"`);
    if (typeof e.content !== 'string') throw new BotHostError('INVALID_COMMIT', 'message content must be a string');
    if (e.metadata !== undefined && (typeof e.metadata !== 'object' || e.metadata === null || Array.isArray(e.metadata))) {
      throw new BotHostError('INVALID_COMMIT', 'message metadata must be a plain object');
    }
  }
  if (commit.inboundId !== undefined) {
    if (typeof commit.inboundId !== 'string' || commit.inboundId.length === 0 || commit.inboundId.length > MAX_INBOUND_ID_LENGTH) {
      throw new BotHostError('INVALID_COMMIT', `inbound id must be a non-empty string of at most ${MAX_INBOUND_ID_LENGTH} characters`);
    }
  }
  if (commit.fence !== undefined && !(Number.isSafeInteger(commit.fence) && commit.fence >= 0)) {
    throw new BotHostError('INVALID_COMMIT', 'fence must be a non-negative integer');
  }
}
