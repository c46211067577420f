/**
 * Slack events → the platform-neutral InboundMessage (or null: nothing for the agent).
 *
 * - `message` (DMs, channels, private channels, group DMs) and `app_mention` are read; edits,
 *   deletions, joins and other subtypes, and every bot's messages (this one's included) are not.
 * - `messageId` is `<channel>:<ts>`: the same whether the message came as `message` or as
 *   `app_mention`, and on every Slack retry — the idempotency key end to end.
 * - `userId` is the Slack user id (`U…`/`W…`). Slack allocates user ids from one space (a person
 *   keeps theirs in Slack Connect channels; Enterprise Grid ids are org-wide), so the id alone is
 *   the session's user and one person is one session however they reach the bot.
 * - `mentionsBot`: an `app_mention`, or `<@BOT>` in the text (removed from what the agent sees).
 *   A message in a thread the bot is part of has `replyTo.isBot` (the host's gating reads it).
 * - `threadId`: the Slack thread the reply goes into (`thread_ts`, or the message's own `ts` when
 *   a channel reply starts a thread), so `per_thread` sessions follow Slack threads.
 * - Text is decoded from Slack's markup: `&amp;`/`&lt;`/`&gt;`, `<url|label>` → `label (url)`,
 *   `<@U1>` → `@U1`, `<#C1|name>` → `#name`, `<!here>` → `@here`.
 */
import type { Attachment, InboundMessage } from '../../src/core/inbound.js';
import { encodeAddress } from './address.js';

/** The parts of a Slack message / app_mention event this adapter reads. */
export interface SlackMessageEvent {
  type: string;
  subtype?: string;
  channel?: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  parent_user_id?: string;
  team?: string;
  user_team?: string;
  files?: Array<{ name?: string; mimetype?: string; title?: string }>;
  user_profile?: { display_name?: string; real_name?: string; name?: string };
}

/** An Events API envelope (`event_callback`). */
export interface SlackEventBody {
  type?: string;
  team_id?: string;
  event_id?: string;
  event?: SlackMessageEvent;
}

/** A slash command's form fields. */
export interface SlackCommandBody {
  command: string;
  text?: string;
  team_id?: string;
  channel_id?: string;
  channel_name?: string;
  user_id?: string;
  user_name?: string;
  response_url?: string;
  trigger_id?: string;
}

export interface NormalizeContext {
  botId: string;
  /** The bot's user id (`auth.test` user_id) and bot id (`bot_id`). */
  botUserId: string;
  slackBotId?: string;
  replyInThread: boolean;
  /** True when the bot is part of the message's thread (answered there before). */
  inBotThread?: boolean;
  now?: () => number;
}

/** Subtypes that are still a person saying something. */
const SPOKEN_SUBTYPES = new Set([undefined, 'file_share', 'thread_broadcast']);

/** Whether the event can become a message at all (cheap: no lookups yet). */
export function isUserMessage(event: SlackMessageEvent | undefined, ctx: Pick<NormalizeContext, 'botUserId' | 'slackBotId'>): event is SlackMessageEvent & { channel: string; ts: string; user: string } {
  if (!event || (event.type !== 'message' && event.type !== 'app_mention')) return false;
  if (!SPOKEN_SUBTYPES.has(event.subtype)) return false;
  if (!event.channel || !event.ts || !event.user) return false;
  if (event.bot_id !== undefined || event.user === ctx.botUserId) return false;
  return true;
}

export function isDirectChannel(event: Pick<SlackMessageEvent, 'channel' | 'channel_type'>): boolean {
  return event.channel_type === 'im' || (event.channel_type === undefined && event.channel?.startsWith('D') === true);
}

/** The thread the message sits in, when it is a reply in a thread (not the thread's parent). */
export function threadOf(event: SlackMessageEvent): string | undefined {
  return event.thread_ts && event.thread_ts !== event.ts ? event.thread_ts : undefined;
}

export function normalizeEvent(body: SlackEventBody, ctx: NormalizeContext): InboundMessage | null {
  const event = body.event;
  if (!isUserMessage(event, ctx)) return null;
  const { text: rawText, mentioned } = decodeSlackText(event.text ?? '', ctx.botUserId);
  const attachments = (event.files ?? []).map(attachmentOf);
  if (rawText.trim() === '' && attachments.length === 0) return null;
  const isDirect = isDirectChannel(event);
  const inThread = threadOf(event);
  const replyThread = isDirect ? event.thread_ts : ctx.replyInThread ? (event.thread_ts ?? event.ts) : event.thread_ts;
  const inBotThread = inThread !== undefined && (ctx.inBotThread === true || event.parent_user_id === ctx.botUserId);
  const team = body.team_id ?? event.team ?? '';
  const name = event.user_profile?.display_name || event.user_profile?.name;
  return {
    platform: 'slack',
    botId: ctx.botId,
    chatId: event.channel,
    userId: event.user,
    ...(replyThread ? { threadId: replyThread } : {}),
    messageId: `${event.channel}:${event.ts}`,
    text: rawText.trim(),
    ...(attachments.length > 0 ? { attachments } : {}),
    isDirect,
    mentionsBot: event.type === 'app_mention' || mentioned,
    ...(inThread ? { replyTo: { messageId: `${event.channel}:${inThread}`, isBot: inBotThread } } : {}),
    ...(name ? { userName: name } : {}),
    receivedAt: (ctx.now ?? Date.now)(),
    address: encodeAddress({ team, channel: event.channel, ...(replyThread ? { threadTs: replyThread } : {}), messageTs: event.ts }),
  };
}

/** A slash command → an InboundMessage whose text is the command (`/new`, `/status …`). */
export function normalizeCommand(body: SlackCommandBody, ctx: Pick<NormalizeContext, 'botId' | 'now'>): InboundMessage | null {
  if (!body.command || !body.user_id || !body.channel_id || !body.trigger_id) return null;
  const command = body.command.startsWith('/') ? body.command : `/${body.command}`;
  const args = decodeSlackText(body.text ?? '', '').text.trim();
  const isDirect = body.channel_name === 'directmessage' || body.channel_id.startsWith('D');
  return {
    platform: 'slack',
    botId: ctx.botId,
    chatId: body.channel_id,
    userId: body.user_id,
    messageId: `command:${body.trigger_id}`,
    text: args ? `${command} ${args}` : command,
    isDirect,
    mentionsBot: true,
    ...(body.user_name ? { userName: body.user_name } : {}),
    receivedAt: (ctx.now ?? Date.now)(),
    address: encodeAddress({ team: body.team_id ?? '', channel: body.channel_id, ...(body.response_url ? { responseUrl: body.response_url } : {}) }),
  };
}

/** Slack message markup → text for the agent; reports (and removes) mentions of `botUserId`. */
export function decodeSlackText(text: string, botUserId: string): { text: string; mentioned: boolean } {
  let mentioned = false;
  const out = text.replace(/<([^>\n]*)>/g, (_, inner: string) => {
    const [target = '', label] = inner.split('|', 2) as [string, string | undefined];
    if (target.startsWith('@')) {
      if (botUserId && target.slice(1) === botUserId) {
        mentioned = true;
        return '';
      }
      return `@${label ?? target.slice(1)}`;
    }
    if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
    if (target.startsWith('!')) return `@${(label ?? target.slice(1)).replace(/^subteam\^/, '')}`;
    return label && label !== target ? `${label} (${target})` : target;
  });
  const decoded = out.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return { text: decoded.replace(/[ \t]{2,}/g, ' '), mentioned };
}

function attachmentOf(f: { name?: string; mimetype?: string; title?: string }): Attachment {
  const mime = f.mimetype ?? '';
  const kind: Attachment['kind'] = mime.startsWith('image/') ? 'photo' : mime.startsWith('audio/') ? 'audio' : mime.startsWith('video/') ? 'video' : 'document';
  return { kind, ...(f.name ? { name: f.name } : {}), ...(f.mimetype ? { mimeType: f.mimetype } : {}), ...(f.title && f.title !== f.name ? { caption: f.title } : {}) };
}
