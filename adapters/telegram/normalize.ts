/**
 * A Telegram update → the platform-neutral InboundMessage (or null: nothing for the agent).
 *
 * - Only new messages (`message`) reach the agent; edits, channel posts, service messages
 *   (joins, pins, topic creation) and other bots' messages are ignored. An anonymous group
 *   admin (or a linked channel) is the user `sender_chat.id`.
 * - `messageId` is `<chat id>:<message id>` (Telegram message ids are unique per chat only), the
 *   idempotency key; a redelivered update produces the same one.
 * - Photos, documents, voice … become attachments the turn runner notes in words; a caption is
 *   the message text. Full media handling (downloading files) is not done.
 * - `mentionsBot`: an @username mention or text_mention of this bot; the mention is removed from
 *   the text the agent sees. `replyTo.isBot`: a reply to one of this bot's messages (not the
 *   implicit reply every forum-topic message carries).
 * - Forum topics: `threadId` is the topic, so replies land in it (and `per_thread` sessions).
 * - `address`: the chat, its topic, and in groups the message itself, so the answer quotes it.
 */
import type { Message, Update, UserFromGetMe } from 'grammy/types';
import type { Attachment, InboundMessage } from '../../src/core/inbound.js';
import { encodeAddress } from './address.js';

export interface NormalizeContext {
  botId: string;
  me: Pick<UserFromGetMe, 'id' | 'username'>;
  now?: () => number;
}

export function normalizeUpdate(update: Update, ctx: NormalizeContext): InboundMessage | null {
  const msg = update.message;
  // Bots are ignored, except Telegram's stand-ins for an anonymous group admin or a channel
  // posting in a group (`sender_chat` set): they speak as that chat.
  if (!msg || !msg.from || (msg.from.is_bot && !msg.sender_chat)) return null;
  const sender = msg.sender_chat ? { id: msg.sender_chat.id, username: 'username' in msg.sender_chat ? msg.sender_chat.username : undefined } : msg.from;
  const attachments = attachmentsOf(msg);
  const rawText = msg.text ?? msg.caption ?? '';
  if (rawText.trim() === '' && attachments.length === 0) return null;
  const entities = msg.entities ?? msg.caption_entities ?? [];
  const username = ctx.me.username?.toLowerCase();
  let mentionsBot = false;
  const cut: Array<[number, number]> = [];
  for (const e of entities) {
    const mentioned =
      (e.type === 'mention' && username !== undefined && rawText.slice(e.offset, e.offset + e.length).toLowerCase() === `@${username}`) ||
      (e.type === 'text_mention' && e.user.id === ctx.me.id);
    if (mentioned) {
      mentionsBot = true;
      if (e.type === 'mention') cut.push([e.offset, e.offset + e.length]);
    }
  }
  const text = removeRanges(rawText, cut).replace(/[ \t]{2,}/g, ' ').trim() || rawText.trim();
  const reply = msg.reply_to_message;
  const isTopicMessage = msg.is_topic_message === true && msg.message_thread_id !== undefined;
  const realReply = reply && !(isTopicMessage && reply.message_id === msg.message_thread_id);
  const isDirect = msg.chat.type === 'private';
  return {
    platform: 'telegram',
    botId: ctx.botId,
    chatId: String(msg.chat.id),
    userId: String(sender.id),
    ...(isTopicMessage ? { threadId: String(msg.message_thread_id) } : {}),
    messageId: `${msg.chat.id}:${msg.message_id}`,
    text,
    ...(attachments.length > 0 ? { attachments } : {}),
    isDirect,
    address: encodeAddress({
      chatId: msg.chat.id,
      ...(isTopicMessage ? { threadId: msg.message_thread_id! } : {}),
      ...(!isDirect ? { replyToMessageId: msg.message_id } : {}),
    }),
    mentionsBot,
    ...(realReply ? { replyTo: { messageId: `${msg.chat.id}:${reply.message_id}`, isBot: reply.from?.id === ctx.me.id } } : {}),
    ...(sender.username ? { userName: sender.username } : {}),
    receivedAt: (ctx.now ?? Date.now)(),
  };
}

function attachmentsOf(msg: Message): Attachment[] {
  const out: Attachment[] = [];
  if (msg.photo && msg.photo.length > 0) out.push({ kind: 'photo' });
  if (msg.document) out.push({ kind: 'document', ...(msg.document.file_name ? { name: msg.document.file_name } : {}), ...(msg.document.mime_type ? { mimeType: msg.document.mime_type } : {}) });
  if (msg.audio) out.push({ kind: 'audio', ...(msg.audio.file_name ? { name: msg.audio.file_name } : {}), ...(msg.audio.mime_type ? { mimeType: msg.audio.mime_type } : {}) });
  if (msg.video) out.push({ kind: 'video', ...(msg.video.file_name ? { name: msg.video.file_name } : {}), ...(msg.video.mime_type ? { mimeType: msg.video.mime_type } : {}) });
  if (msg.voice) out.push({ kind: 'voice', ...(msg.voice.mime_type ? { mimeType: msg.voice.mime_type } : {}) });
  if (msg.sticker) out.push({ kind: 'sticker', ...(msg.sticker.emoji ? { name: msg.sticker.emoji } : {}) });
  if (msg.animation && !msg.document) out.push({ kind: 'other', name: 'animation' });
  if (msg.video_note) out.push({ kind: 'other', name: 'video note' });
  if (msg.location) out.push({ kind: 'other', name: `location ${msg.location.latitude},${msg.location.longitude}` });
  if (msg.contact) out.push({ kind: 'other', name: 'contact' });
  return out;
}

/** `text` without the [start, end) ranges (UTF-16 offsets, as Telegram gives them). */
function removeRanges(text: string, ranges: Array<[number, number]>): string {
  let out = '';
  let at = 0;
  for (const [s, e] of [...ranges].sort((a, b) => a[0] - b[0])) {
    out += text.slice(at, s);
    at = Math.max(at, e);
  }
  return out + text.slice(at);
}
