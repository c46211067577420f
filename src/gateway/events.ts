/** Session log entries as clients see them, and the web message ids carried through the pipeline. */
import { createHash } from 'node:crypto';
import type { SessionEntry } from '../core/session-store.js';
import { GATEWAY_BOT_ID } from './constants.js';
import type { LogEvent } from './frames.js';

/**
 * The inbound message id of a client's message id in one session: `<client id>@<hash of key>`.
 * The dedupe memory is per bot, not per session, so two sessions both sending id "1" must not
 * collide; the client id stays readable and is recovered by `clientIdOf`.
 */
export function inboundMessageId(key: string, clientId: string): string {
  return `${clientId}@${createHash('sha256').update(key).digest('base64url').slice(0, 12)}`;
}

export function clientIdOf(messageId: unknown): string | undefined {
  if (typeof messageId !== 'string') return undefined;
  const at = messageId.lastIndexOf('@');
  return at > 0 ? messageId.slice(0, at) : messageId;
}

/** The id runTurn commits under (its idempotency key). */
export const commitIdOf = (key: string, clientId: string): string => `${GATEWAY_BOT_ID}:${inboundMessageId(key, clientId)}`;

/** Entries → events; an assistant entry right after a user entry replies to it. */
export function toEvents(entries: readonly SessionEntry[]): LogEvent[] {
  const out: LogEvent[] = [];
  let prev: { cursor: number; id?: string } | undefined;
  for (const e of entries) {
    const base = { content: e.content, cursor: e.cursor, ts: e.ts };
    if (e.role === 'user') {
      const id = clientIdOf(e.metadata?.message_id);
      out.push({ type: 'message', role: 'user', ...base, ...(id ? { id } : {}) });
      prev = { cursor: e.cursor, ...(id ? { id } : {}) };
      continue;
    }
    if (e.role === 'assistant') {
      const replyTo = prev && prev.cursor === e.cursor - 1 ? prev.id : undefined;
      out.push({ type: 'response', role: 'assistant', ...base, ...(replyTo ? { reply_to: replyTo } : {}), ...(e.metadata?.stopped === true ? { stopped: true as const } : {}) });
    } else {
      out.push({ type: 'event', role: e.role, ...base });
    }
    prev = undefined;
  }
  return out;
}
