/**
 * Validation and safe encoding of session ids for stores that map ids to names (files, keys).
 *
 * Any non-empty string up to MAX_SESSION_ID_LENGTH is a valid id; hostile ids (`../x`, `/etc`,
 * NUL, `CON`, `%2e%2e`) are encoded, never rejected, and can never name anything outside the
 * store. The encoding is injective: `a.b`, `a_b` and `A_b` are three different files.
 */
import { createHash } from 'node:crypto';
import { InvalidSessionIdError } from './errors.js';

export const MAX_SESSION_ID_LENGTH = 1024;

export function assertSessionId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new InvalidSessionIdError('it must be a string');
  if (id.length === 0) throw new InvalidSessionIdError('it is empty');
  if (id.length > MAX_SESSION_ID_LENGTH) {
    throw new InvalidSessionIdError(`it is ${id.length} characters long; the limit is ${MAX_SESSION_ID_LENGTH}`);
  }
  if (!id.isWellFormed()) throw new InvalidSessionIdError('it contains a lone UTF-16 surrogate');
}

/** Longest encoded name we use before switching to prefix + hash (NAME_MAX is 255 bytes). */
const MAX_ENCODED = 180;

/**
 * Encode an id as a portable file-name stem: lowercase letters, digits, `_` and `-` stay; every
 * other byte (including uppercase, for case-insensitive file systems) becomes `%XX`. Long
 * results become `<first 120 chars>~<sha256>`; `~` never appears in short names, so the two
 * forms cannot collide, and stores record the real id inside the file to detect the
 * (astronomically unlikely) hash collision.
 */
export function encodeSessionId(id: string): string {
  assertSessionId(id);
  // Most ids (`bot_telegram_12345`) are their own encoding; keys are built from them several
  // times per turn, and the byte-by-byte path showed in worker profiles.
  const encoded = ALL_KEPT.test(id) ? id : encodeBytes(id);
  if (encoded.length <= MAX_ENCODED) return encoded;
  const digest = createHash('sha256').update(id).digest('hex');
  return `${encoded.slice(0, 120).replace(/%[0-9A-F]?$/, '')}~${digest}`;
}

/** A character that stays as it is in an encoded id. */
const KEPT = /[a-z0-9_-]/;
const ALL_KEPT = new RegExp(`^${KEPT.source}+$`);

/** Each byte's encoding: itself when it is kept, `%XX` otherwise. */
const BYTE_ENCODING: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  const ch = String.fromCharCode(byte);
  return KEPT.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
});

function encodeBytes(id: string): string {
  let encoded = '';
  for (const byte of Buffer.from(id, 'utf8')) encoded += BYTE_ENCODING[byte];
  return encoded;
}
