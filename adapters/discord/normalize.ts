/**
 * Discord events → the platform-neutral InboundMessage (or null: nothing for the agent). Works on
 * the few fields it reads (structurally what discord.js's Message and ChatInputCommandInteraction
 * have), so tests build inputs from literals.
 *
 * - Messages from bots (this one included), webhooks and system messages are ignored.
 * - `messageId` is Discord's message id (a snowflake, unique across Discord) — the idempotency
 *   key; a MESSAGE_CREATE replayed after a RESUME carries the same one. A slash command's is its
 *   interaction id.
 * - `mentionsBot`: `<@bot>` / `<@!bot>` in the text (removed from what the agent sees; other users'
 *   mentions become `@name`). A slash command counts as addressing the bot. `replyTo.isBot`: a
 *   reply to one of the bot's messages.
 * - Threads: `chatId` is the parent channel and `threadId` the thread (replies go to the thread).
 * - Attachments become notes with name, type and URL; the content is the text.
 */
import type { Attachment, InboundMessage } from '../../src/core/inbound.js';
import { encodeAddress } from './address.js';

/** Discord channel types this adapter distinguishes. */
export const CHANNEL_TYPE = Object.freeze({ DM: 1, GroupDM: 3, AnnouncementThread: 10, PublicThread: 11, PrivateThread: 12 });

const THREAD_TYPES = new Set<number>([CHANNEL_TYPE.AnnouncementThread, CHANNEL_TYPE.PublicThread, CHANNEL_TYPE.PrivateThread]);

export interface DiscordUserLike {
  id: string;
  username: string;
  bot?: boolean;
}

export interface DiscordChannelLike {
  type: number;
  parentId?: string | null;
}

/** What normalize reads of a discord.js Message. */
export interface DiscordMessageLike {
  id: string;
  content: string;
  channelId: string;
  guildId: string | null;
  author: DiscordUserLike;
  system?: boolean;
  webhookId?: string | null;
  channel: DiscordChannelLike;
  mentions: { users: { values(): Iterable<DiscordUserLike> }; repliedUser?: { id: string } | null };
  reference?: { messageId?: string | undefined } | null;
  attachments: { values(): Iterable<{ name: string; contentType: string | null; url: string }> };
  createdTimestamp: number;
}

/** What normalize reads of a discord.js ChatInputCommandInteraction. */
export interface DiscordCommandLike {
  id: string;
  commandName: string;
  channelId: string | null;
  guildId: string | null;
  user: DiscordUserLike;
  channel?: DiscordChannelLike | null;
  /** The `question` option of `/ask`. */
  question?: string | null;
  createdTimestamp: number;
}

export interface NormalizeContext {
  botId: string;
  /** The bot's own user id (from READY). */
  botUserId: string;
  now?: () => number;
}

const isThread = (c: DiscordChannelLike | null | undefined) => c !== null && c !== undefined && THREAD_TYPES.has(c.type);

/** The chat/thread ids of a channel: a thread is its parent's chat, with itself as the thread. */
function placeOf(channelId: string, channel: DiscordChannelLike | null | undefined): { chatId: string; threadId?: string } {
  if (isThread(channel)) return { chatId: channel!.parentId ?? channelId, threadId: channelId };
  return { chatId: channelId };
}

export function normalizeMessage(message: DiscordMessageLike, ctx: NormalizeContext): InboundMessage | null {
  if (message.author.bot || message.author.id === ctx.botUserId || message.system || message.webhookId) return null;
  const attachments = attachmentsOf(message);
  const mentionsBot = new RegExp(`<@!?${ctx.botUserId}>`).test(message.content);
  let text = message.content.replace(new RegExp(`<@!?${ctx.botUserId}>`, 'g'), ' ');
  for (const user of message.mentions.users.values()) {
    if (user.id !== ctx.botUserId) text = text.replace(new RegExp(`<@!?${user.id}>`, 'g'), `@${user.username}`);
  }
  text = text.replace(/[ \t]{2,}/g, ' ').trim();
  if (text === '' && attachments.length === 0) return null;
  const isDirect = message.guildId === null || message.channel.type === CHANNEL_TYPE.DM;
  const reference = message.reference?.messageId;
  return {
    platform: 'discord',
    botId: ctx.botId,
    ...placeOf(message.channelId, message.channel),
    userId: message.author.id,
    messageId: message.id,
    text,
    ...(attachments.length > 0 ? { attachments } : {}),
    isDirect,
    mentionsBot,
    ...(reference ? { replyTo: { messageId: reference, isBot: message.mentions.repliedUser?.id === ctx.botUserId } } : {}),
    userName: message.author.username,
    receivedAt: (ctx.now ?? Date.now)(),
    address: encodeAddress({ kind: 'message', channelId: message.channelId, ...(isDirect ? {} : { quoteMessageId: message.id }) }),
  };
}

/**
 * A slash command → the text the ingress chain understands: `/ask question` is the question,
 * `/new`, `/status`, `/help` are those commands (answered by the host like typed ones).
 */
export function normalizeCommand(command: DiscordCommandLike, ctx: NormalizeContext): InboundMessage | null {
  if (command.user.bot || command.channelId === null) return null;
  const text = command.commandName === 'ask' ? (command.question ?? '').trim() : `/${command.commandName}`;
  if (text === '') return null;
  return {
    platform: 'discord',
    botId: ctx.botId,
    ...placeOf(command.channelId, command.channel),
    userId: command.user.id,
    messageId: command.id,
    text,
    isDirect: command.guildId === null,
    mentionsBot: true,
    userName: command.user.username,
    receivedAt: (ctx.now ?? Date.now)(),
    address: encodeAddress({ kind: 'interaction', interactionId: command.id, channelId: command.channelId }),
  };
}

function attachmentsOf(message: DiscordMessageLike): Attachment[] {
  const out: Attachment[] = [];
  for (const a of message.attachments.values()) {
    const type = a.contentType ?? '';
    const kind: Attachment['kind'] = type.startsWith('image/') ? 'photo' : type.startsWith('audio/') ? 'audio' : type.startsWith('video/') ? 'video' : 'document';
    out.push({ kind, name: a.name, ...(a.contentType ? { mimeType: a.contentType } : {}), url: a.url });
  }
  return out;
}
