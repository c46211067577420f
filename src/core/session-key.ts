/**
 * Deterministic session keys: `bot_<platform>_<userId>` for the default per-user scope, exactly
 * as the seed writes it (`bot_telegram_12345`).
 *
 * Keys are injective: two different inputs never share a session. `_` is the only separator,
 * so every id component is escaped to contain none (`_` → `%5F`, `%` → `%25`, and anything
 * outside a safe set likewise); ordinary numeric and alphanumeric ids pass through unchanged.
 * Scopes differ in their number of parts, so a per-chat key can never equal a per-user key.
 */
import { BotHostError } from './errors.js';

/** The platform of every gateway (web chat) message: web sessions are `bot_web_<escaped id>`. */
export const WEB_PLATFORM = 'web';
/** The bot id every gateway (web chat) message carries. */
export const GATEWAY_BOT_ID = 'gateway';

export type SessionScope = 'per_user' | 'per_chat' | 'per_thread';

export interface SessionKeyOptions {
  /** Default `per_user`. */
  scope?: SessionScope;
  /** Required for `per_chat` and `per_thread`. */
  chatId?: string | number;
  /** Used by `per_thread`; when absent the key falls back to the chat. */
  threadId?: string | number;
}

const PLATFORM = /^[a-z][a-z0-9-]{0,31}$/;

/** Escape one id component so it contains no `_` and only printable ASCII. */
export function escapeKeyPart(part: string | number): string {
  const s = String(part);
  if (s.length === 0) throw new BotHostError('INVALID_KEY', 'session key part is empty');
  return s.replace(/[^A-Za-z0-9.@+:-]/gu, (ch) =>
    Array.from(Buffer.from(ch, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/**
 * @example sessionKey('telegram', 12345) // 'bot_telegram_12345'
 * @example sessionKey('slack', 'U1', { scope: 'per_thread', chatId: 'C9', threadId: '171.2' })
 *          // 'bot_slack_chat_C9_thread_171.2'
 */
export function sessionKey(platform: string, userId: string | number, options: SessionKeyOptions = {}): string {
  if (!PLATFORM.test(platform)) {
    throw new BotHostError('INVALID_KEY', `platform name "${platform}" must be lowercase letters, digits or "-"`);
  }
  const scope = options.scope ?? 'per_user';
  if (scope === 'per_user') return `bot_${platform}_${escapeKeyPart(userId)}`;
  if (options.chatId === undefined || options.chatId === '') {
    throw new BotHostError('INVALID_KEY', `scope ${scope} needs a chat id`);
  }
  const chat = `bot_${platform}_chat_${escapeKeyPart(options.chatId)}`;
  if (scope === 'per_chat' || options.threadId === undefined || options.threadId === '') return chat;
  return `${chat}_thread_${escapeKeyPart(options.threadId)}`;
}
