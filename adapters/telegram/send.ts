/**
 * Sending and editing one chunk, with the fallbacks of the decision table: formatting rejected
 * → the same text as plain; edit target gone → a new message; "not modified" → done; chat gone
 * or bot blocked → dropped (and logged). 429 is already waited out by the rate-limit
 * transformer; anything else propagates so the caller can retry the reply.
 */
import type { Api } from 'grammy';
import type { AdapterLogger } from '../../src/core/adapter.js';
import { decisionOf } from './api-errors.js';
import type { Chunk } from './render.js';

/** The Bot API calls a reply needs (grammY's `bot.api` has them). */
export type SendApi = Pick<Api, 'sendMessage' | 'editMessageText' | 'sendChatAction'>;

/** Where a reply goes: the chat, its forum topic, and (in groups) the message it answers. */
export interface ReplyTarget {
  chatId: number | string;
  threadId?: number;
  replyToMessageId?: number;
}

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
export async function sendChunk(api: SendApi, target: ReplyTarget, chunk: Chunk, logger: AdapterLogger, asReply = false): Promise<number | undefined> {
  try {
    return (await api.sendMessage(target.chatId, chunk.text, sendOptions(target, chunk.parseMode, asReply))).message_id;
  } catch (err) {
    const decision = decisionOf(err);
    if (decision === 'resend_plain' && chunk.parseMode) {
      logger.warn({ chat: target.chatId, err: describe(err) }, 'telegram rejected the formatting; sending the reply as plain text');
      return (await api.sendMessage(target.chatId, chunk.plain, sendOptions(target, undefined, asReply))).message_id;
    }
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
export async function editChunk(api: SendApi, target: ReplyTarget, messageId: number, chunk: Chunk, logger: AdapterLogger): Promise<number | undefined> {
  const edit = (text: string, parseMode: 'HTML' | undefined) =>
    api.editMessageText(target.chatId, messageId, text, { ...(parseMode ? { parse_mode: parseMode } : {}), link_preview_options: { is_disabled: true } });
  try {
    await edit(chunk.text, chunk.parseMode);
    return messageId;
  } catch (err) {
    let decision = decisionOf(err);
    if (decision === 'resend_plain' && chunk.parseMode) {
      logger.warn({ chat: target.chatId, err: describe(err) }, 'telegram rejected the formatting; showing the reply as plain text');
      try {
        await edit(chunk.plain, undefined);
        return messageId;
      } catch (again) {
        decision = decisionOf(again);
        if (decision !== 'ignore' && decision !== 'send_new') throw again;
      }
    }
    if (decision === 'ignore') return messageId;
    if (decision === 'send_new') return sendChunk(api, target, chunk, logger);
    if (decision === 'drop') {
      logger.warn({ chat: target.chatId, err: describe(err) }, 'edit dropped: telegram refuses messages to this chat');
      return undefined;
    }
    throw err;
  }
}

export function describe(err: unknown): string {
  const e = err as { error_code?: number; description?: string; message?: string };
  if (typeof e?.error_code === 'number') return `${e.error_code} ${e.description ?? ''}`.trim();
  return e?.message ?? String(err);
}
