/**
 * The platform-neutral inbound message. Adapters produce it; nothing past the adapter imports
 * a platform SDK.
 */
export interface Attachment {
  kind: 'photo' | 'document' | 'audio' | 'video' | 'voice' | 'sticker' | 'other';
  name?: string;
  mimeType?: string;
  url?: string;
  caption?: string;
}

export interface InboundMessage {
  /** `telegram`, `discord`, `slack`, `whatsapp`, `web`, `console`. */
  platform: string;
  /** Which configured bot received it (bots.yaml `bots[].id`). */
  botId: string;
  chatId: string;
  userId: string;
  threadId?: string;
  /**
   * The platform's own message id, unique per bot: the idempotency key from ingress through
   * commit to every send. Redeliveries carry the same id.
   */
  messageId: string;
  text: string;
  attachments?: Attachment[];
  isDirect: boolean;
  mentionsBot: boolean;
  /** Platform message id this one replies to, and whether that message was the bot's. */
  replyTo?: { messageId: string; isBot: boolean };
  userName?: string;
  receivedAt: number;
  /**
   * Where the reply goes, encoded by the adapter that received the message (chat, thread, the
   * message to quote, an interaction to answer); only that adapter decodes it. Absent for
   * messages that are not answered through an adapter (console, web gateway).
   */
  address?: string;
  /**
   * An explicit session id chosen by the user (console `--session`, gateway `session_id`);
   * when set it wins over the scope-derived key.
   */
  sessionId?: string;
}
