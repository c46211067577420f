/**
 * The reply address of a Telegram message, opaque to the host: `<chat>|<topic>|<message>` —
 * the chat (numeric id, or `@channel`), the forum topic when there is one, and the message to
 * quote when the reply goes to a group.
 */
export interface ReplyTarget {
  chatId: number | string;
  threadId?: number;
  replyToMessageId?: number;
}

export function encodeAddress(target: ReplyTarget): string {
  return `${target.chatId}|${target.threadId ?? ''}|${target.replyToMessageId ?? ''}`;
}

const asInt = (s: string | undefined) => (s !== undefined && s !== '' && Number.isSafeInteger(Number(s)) ? Number(s) : undefined);

export function decodeAddress(address: string): ReplyTarget {
  const [chat = '', thread, reply] = address.split('|');
  const numericChat = asInt(chat);
  const threadId = asInt(thread);
  const replyToMessageId = asInt(reply);
  return {
    chatId: numericChat ?? chat,
    ...(threadId !== undefined ? { threadId } : {}),
    ...(replyToMessageId !== undefined ? { replyToMessageId } : {}),
  };
}
