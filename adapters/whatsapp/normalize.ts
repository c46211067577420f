/**
 * A baileys `messages.upsert` message → the platform-neutral InboundMessage (or null: nothing
 * for the agent).
 *
 * - Only what a person sent the bot: never the bot's own messages (`fromMe`), status broadcasts,
 *   newsletters (channels), protocol messages (revokes, edits, key shares), reactions, polls'
 *   votes, or stubs (group events, and CIPHERTEXT placeholders for messages that failed to
 *   decrypt — the adapter logs those). Only `notify` upserts reach here (the caller checks).
 * - Media and voice notes become attachments (the turn runner notes them in words, as for
 *   Telegram); a caption is the text.
 * - `userId`: the canonical id (`IdentityResolver`): phone digits, or `lid:<digits>`. In groups
 *   it is the participant, and `threadId` is the participant too, so `session.scope: per_thread`
 *   gives a session per user per group (`per_chat`: one per group; `per_user`: one per person).
 * - `messageId` is `<chat>:<key id>`; a redelivered message has the same one.
 * - `mentionsBot`: an @mention of the bot's phone JID or LID, or a reply to one of its messages;
 *   the bot's @<digits> is removed from the text. The pushName is not used as `userName`:
 *   anyone can set it, and allowlists must not match on it.
 */
import type { proto, WAMessage } from 'baileys';
import type { Attachment, InboundMessage } from '../../src/core/inbound.js';
import { encodeAddress } from './address.js';
import { isBroadcastOrNewsletter, isGroup, sameUser, userOf } from './jid.js';

export interface NormalizeContext {
  botId: string;
  /** The bot's own JIDs (phone and LID, any device) — for mentions and replies to the bot. */
  self: { pn?: string; lid?: string };
  /** Canonical user id of a sender JID, given its alternative addressing if the message had one. */
  canonical(jid: string, alt?: string | null): Promise<string>;
  /** Groups the bot answers in (absent: all). */
  allowedGroups?: ReadonlySet<string>;
  now?: () => number;
}

type Content = proto.IMessage;

/** The message inside ephemeral / view-once / document-with-caption wrappers. */
export function unwrap(message: Content | null | undefined): Content | undefined {
  let m = message ?? undefined;
  for (let i = 0; i < 5 && m; i++) {
    const inner = m.ephemeralMessage?.message ?? m.viewOnceMessage?.message ?? m.viewOnceMessageV2?.message ?? m.viewOnceMessageV2Extension?.message ?? m.documentWithCaptionMessage?.message;
    if (!inner) break;
    m = inner;
  }
  return m;
}

/** Content that is never a person talking to the bot. */
function isControl(m: Content): boolean {
  return !!(m.protocolMessage || m.reactionMessage || m.pollUpdateMessage || m.keepInChatMessage || m.encReactionMessage || m.editedMessage);
}

function attachmentsOf(m: Content): Attachment[] {
  const out: Attachment[] = [];
  const mime = (x: { mimetype?: string | null }) => (x.mimetype ? { mimeType: x.mimetype } : {});
  if (m.imageMessage) out.push({ kind: 'photo', ...mime(m.imageMessage) });
  if (m.videoMessage) out.push({ kind: 'video', ...mime(m.videoMessage) });
  if (m.ptvMessage) out.push({ kind: 'other', name: 'video note' });
  if (m.audioMessage) out.push({ kind: m.audioMessage.ptt ? 'voice' : 'audio', ...mime(m.audioMessage) });
  if (m.documentMessage) out.push({ kind: 'document', ...(m.documentMessage.fileName ? { name: m.documentMessage.fileName } : {}), ...mime(m.documentMessage) });
  if (m.stickerMessage) out.push({ kind: 'sticker' });
  if (m.locationMessage) out.push({ kind: 'other', name: `location ${m.locationMessage.degreesLatitude},${m.locationMessage.degreesLongitude}` });
  if (m.liveLocationMessage) out.push({ kind: 'other', name: 'live location' });
  if (m.contactMessage || m.contactsArrayMessage) out.push({ kind: 'other', name: 'contact' });
  return out;
}

function textOf(m: Content): string {
  return m.conversation ?? m.extendedTextMessage?.text ?? m.imageMessage?.caption ?? m.videoMessage?.caption ?? m.documentMessage?.caption ?? '';
}

function contextInfoOf(m: Content): proto.IContextInfo | undefined {
  return (m.extendedTextMessage ?? m.imageMessage ?? m.videoMessage ?? m.audioMessage ?? m.documentMessage ?? m.stickerMessage ?? undefined)?.contextInfo ?? undefined;
}

const isSelf = (jid: string | null | undefined, self: NormalizeContext['self']) => !!jid && (sameUser(jid, self.pn) || sameUser(jid, self.lid));

export async function normalizeMessage(msg: WAMessage, ctx: NormalizeContext): Promise<InboundMessage | null> {
  const key = msg.key;
  const chat = key.remoteJid;
  if (!chat || !key.id || key.fromMe || isBroadcastOrNewsletter(chat)) return null;
  if (msg.messageStubType) return null;
  const m = unwrap(msg.message);
  if (!m || isControl(m)) return null;
  const group = isGroup(chat);
  if (group && ctx.allowedGroups && !ctx.allowedGroups.has(chat)) return null;
  const senderJid = group ? key.participant : chat;
  if (!senderJid || isSelf(senderJid, ctx.self)) return null;
  const attachments = attachmentsOf(m);
  const rawText = textOf(m);
  if (rawText.trim() === '' && attachments.length === 0) return null;

  const userId = await ctx.canonical(senderJid, group ? key.participantAlt : key.remoteJidAlt);
  const chatId = group ? chat : userId;
  const info = contextInfoOf(m);
  const mentionedSelf = (info?.mentionedJid ?? []).filter((j) => isSelf(j, ctx.self));
  const replyToBot = !!info?.stanzaId && isSelf(info.participant, ctx.self);
  let text = rawText;
  for (const j of mentionedSelf) text = text.split(`@${userOf(j)}`).join('');
  text = text.replace(/[ \t]{2,}/g, ' ').trim() || rawText.trim();
  const snippet = rawText.trim();
  return {
    platform: 'whatsapp',
    botId: ctx.botId,
    chatId,
    userId,
    ...(group ? { threadId: userId } : {}),
    messageId: `${chatId}:${key.id}`,
    text,
    ...(attachments.length > 0 ? { attachments } : {}),
    isDirect: !group,
    mentionsBot: mentionedSelf.length > 0 || replyToBot,
    ...(info?.stanzaId ? { replyTo: { messageId: `${chatId}:${info.stanzaId}`, isBot: replyToBot } } : {}),
    receivedAt: (ctx.now ?? Date.now)(),
    address: encodeAddress(group ? { chat, quote: { id: key.id, participant: senderJid, text: snippet } } : { chat }),
  };
}
