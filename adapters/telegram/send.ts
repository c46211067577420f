/**
 * Sending and editing one chunk, with the fallbacks of the decision table: formatting rejected
 * → FormattingRejectedError (the host sends the plain text); edit target gone → a new message;
 * "not modified" → done; chat gone or bot blocked → dropped (and logged); group migrated → sent
 * to the supergroup. 429 is already waited out by the rate-limit transformer; anything else
 * propagates so the caller can retry the reply.
 */
import type { Api } from 'grammy';
import { FormattingRejectedError, type AdapterLogger, type OutboundChunk } from '../../src/core/adapter.js';
import type { ReplyTarget } from './address.js';
import { decisionOf } from './api-errors.js';

/** The Bot API calls a reply needs (grammY's `bot.api` has them). */
export type SendApi = Pick<Api, 'sendMessage' | 'editMessageText' | 'sendChatAction' | 'deleteMessage'>;

function sendOptions(target: ReplyTarget, parseMode: 'HTML' | undefined, asReply: boolean) {
  return {
    ...(parseMode ? { parse_mode: parseMode } : {}),
    ...(target.threadId !== undefined ? { message_thread_id: target.threadId } : {}),
    ...(asReply && target.replyToMessageId !== undefined
      ? { reply_parameters: { message_id: target.replyToMessageId, allow_sending_without_reply: true } }
      : {}),
    link_preview_options: { is_disabled: true },
  };
}

/** Sends a chunk; returns the new message id, or undefined when the reply had to be dropped. */
export async function sendChunk(api: SendApi, target: ReplyTarget, chunk: OutboundChunk, logger: AdapterLogger, asReply = false): Promise<number | undefined> {
  try {
    return (await api.sendMessage(target.chatId, chunk.text, sendOptions(target, parseModeOf(chunk), asReply))).message_id;
  } catch (err) {
    const decision = decisionOf(err);
    if (decision === 'resend_plain' && chunk.formatted) throw new FormattingRejectedError(`telegram: ${describe(err)}`, { cause: err });
    const movedTo = (err as { parameters?: { migrate_to_chat_id?: number } }).parameters?.migrate_to_chat_id;
    if (decision === 'migrate' && movedTo !== undefined && movedTo !== target.chatId) {
      logger.info({ chat: target.chatId, movedTo }, 'the group became a supergroup; sending there');
      return sendChunk(api, { ...target, chatId: movedTo }, chunk, logger, false);
    }
    if (decision === 'drop' || decision === 'migrate') {
      logger.warn({ chat: target.chatId, err: describe(err) }, 'reply dropped: telegram refuses messages to this chat');
      return undefined;
    }
    throw err;
  }
}

/** Replaces the text of message `messageId` with `chunk`; sends it as a new message if the old one is gone. */
export async function editChunk(api: SendApi, target: ReplyTarget, messageId: number, chunk: OutboundChunk, logger: AdapterLogger): Promise<number | undefined> {
  const parseMode = parseModeOf(chunk);
  try {
    await api.editMessageText(target.chatId, messageId, chunk.text, { ...(parseMode ? { parse_mode: parseMode } : {}), link_preview_options: { is_disabled: true } });
    return messageId;
  } catch (err) {
    const decision = decisionOf(err);
    if (decision === 'resend_plain' && chunk.formatted) throw new FormattingRejectedError(`telegram: ${describe(err)}`, { cause: err });
    if (decision === 'ignore') return messageId;
    if (decision === 'send_new') return sendChunk(api, target, chunk, logger);
    if (decision === 'drop') {
      logger.warn({ chat: target.chatId, err: describe(err) }, 'edit dropped: telegram refuses messages to this chat');
      return undefined;
    }
    throw err;
  }
}

const parseModeOf = (chunk: OutboundChunk): 'HTML' | undefined => (chunk.formatted ? 'HTML' : undefined);

export function describe(err: unknown): string {
  const e = err as { error_code?: number; description?: string; message?: string };
  if (typeof e?.error_code === 'number') return `${e.error_code} ${e.description ?? ''}`.trim();
  return e?.message ?? String(err);
}
