/**
 * encodeSessionId names files and Redis keys, so its output is a stored format: these cases pin
 * it (a change would orphan every existing session), on the fast path (ids that are their own
 * encoding) and the byte-by-byte one alike.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeSessionId } from '../../src/core/session-id.js';

describe('encodeSessionId', () => {
  it('keeps lowercase letters, digits, _ and -, and %-encodes every other byte', () => {
    expect(encodeSessionId('bot_telegram_12345')).toBe('bot_telegram_12345');
    expect(encodeSessionId('bot_discord_g-1')).toBe('bot_discord_g-1');
    expect(encodeSessionId('Bob')).toBe('%42ob');
    expect(encodeSessionId('../x')).toBe('%2E%2E%2Fx');
    expect(encodeSessionId('a b')).toBe('a%20b');
    expect(encodeSessionId('é')).toBe('%C3%A9');
    expect(encodeSessionId('日')).toBe('%E6%97%A5');
    expect(encodeSessionId('\0')).toBe('%00');
    expect(encodeSessionId('%2e')).toBe('%252e');
    expect(encodeSessionId('~')).toBe('%7E');
  });

  it('is injective where file systems are not: case, dots and underscores stay apart', () => {
    const ids = ['a.b', 'a_b', 'A_b', 'a%2Eb', 'CON', 'con'];
    expect(new Set(ids.map(encodeSessionId)).size).toBe(ids.length);
  });

  it('turns long results into 120 characters, `~` and the id\'s sha256, never splitting a %XX', () => {
    const sha = (id: string) => createHash('sha256').update(id).digest('hex');
    expect(encodeSessionId('a'.repeat(180))).toBe('a'.repeat(180));
    expect(encodeSessionId('a'.repeat(181))).toBe(`${'a'.repeat(120)}~${sha('a'.repeat(181))}`);
    // 'a' + 'Z'×100: the 120th character falls inside a %5A, which is cut whole.
    const id = `a${'Z'.repeat(100)}`;
    expect(encodeSessionId(id)).toBe(`a${'%5A'.repeat(39)}~${sha(id)}`);
  });

  it('refuses what is not a session id', () => {
    expect(() => encodeSessionId('')).toThrow(/empty/);
    expect(() => encodeSessionId('x'.repeat(1025))).toThrow(/1025 characters/);
    expect(() => encodeSessionId('\ud800')).toThrow(/surrogate/);
  });
});
