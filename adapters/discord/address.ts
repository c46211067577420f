/**
 * The reply address of a Discord message, opaque to the host:
 * - `m|<channel>|<message to quote>` — a message in a channel, DM or thread (the quoted message
 *   is empty in DMs, where quoting adds nothing);
 * - `i|<interaction>|<channel>` — a slash command: the reply edits the deferred response. The
 *   interaction's token is a credential and never part of the address; the adapter keeps it in
 *   memory by interaction id (a process without it posts in the channel instead).
 */
import { BotHostError } from '../../src/core/errors.js';

export type ReplyTarget =
  | { kind: 'message'; channelId: string; quoteMessageId?: string }
  | { kind: 'interaction'; interactionId: string; channelId: string };

const SNOWFLAKE = /^\d{1,25}$/;

export function encodeAddress(target: ReplyTarget): string {
  return target.kind === 'message' ? `m|${target.channelId}|${target.quoteMessageId ?? ''}` : `i|${target.interactionId}|${target.channelId}`;
}

export function decodeAddress(address: string): ReplyTarget {
  const [kind, a = '', b = ''] = address.split('|');
  if (kind === 'm' && SNOWFLAKE.test(a) && (b === '' || SNOWFLAKE.test(b))) return { kind: 'message', channelId: a, ...(b ? { quoteMessageId: b } : {}) };
  if (kind === 'i' && SNOWFLAKE.test(a) && SNOWFLAKE.test(b)) return { kind: 'interaction', interactionId: a, channelId: b };
  throw new BotHostError('DISCORD_BAD_ADDRESS', `not a Discord reply address: ${JSON.stringify(address.slice(0, 80))}`);
}
