/** normalize.ts (update → InboundMessage), verify.ts (webhook secret), api-errors.ts (codes → decisions). */
import type { Update } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { decideApiError } from '../../../adapters/telegram/api-errors.js';
import { normalizeUpdate } from '../../../adapters/telegram/normalize.js';
import { decodeAddress, encodeAddress } from '../../../adapters/telegram/address.js';
import { redactToken } from '../../../adapters/telegram/rate-limit.js';
import { verifySecretToken } from '../../../adapters/telegram/verify.js';

const me = { id: 777, username: 'test_bot' };
const ctx = { botId: 'tg', me, now: () => 1234 };
const user = { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
const dm = { id: 42, type: 'private', first_name: 'Ada' };
const group = { id: -100, type: 'supergroup', title: 'G' };
const update = (message: Record<string, unknown>): Update => ({ update_id: 1, message: { message_id: 7, date: 0, chat: dm, from: user, ...message } } as unknown as Update);

describe('normalizeUpdate', () => {
  it('a DM text message', () => {
    expect(normalizeUpdate(update({ text: 'hello' }), ctx)).toEqual({
      platform: 'telegram', botId: 'tg', chatId: '42', userId: '42', messageId: '42:7', text: 'hello',
      isDirect: true, address: '42||', mentionsBot: false, userName: 'ada', receivedAt: 1234,
    });
  });

  it('the reply address: the chat, the forum topic, and in groups the message to quote', () => {
    expect(decodeAddress(normalizeUpdate(update({ text: 'hi' }), ctx)!.address!)).toEqual({ chatId: 42 });
    const topic = normalizeUpdate(update({ chat: { ...group, is_forum: true }, text: 'in topic', message_thread_id: 3, is_topic_message: true }), ctx)!;
    expect(decodeAddress(topic.address!)).toEqual({ chatId: -100, threadId: 3, replyToMessageId: 7 });
    expect(decodeAddress(encodeAddress({ chatId: '@channel' }))).toEqual({ chatId: '@channel' });
  });

  it('an @mention of this bot (any case) is noticed and removed from the text; other mentions stay', () => {
    const m = normalizeUpdate(update({ chat: group, text: '@Test_Bot what about @other?', entities: [{ type: 'mention', offset: 0, length: 9 }, { type: 'mention', offset: 21, length: 6 }] }), ctx)!;
    expect(m.mentionsBot).toBe(true);
    expect(m.text).toBe('what about @other?');
    expect(m.isDirect).toBe(false);
    expect(m.messageId).toBe('-100:7');
    const other = normalizeUpdate(update({ chat: group, text: '@other hi', entities: [{ type: 'mention', offset: 0, length: 6 }] }), ctx)!;
    expect(other.mentionsBot).toBe(false);
  });

  it('a reply to the bot; a forum-topic message is not a reply to the bot, but carries its thread', () => {
    const reply = normalizeUpdate(update({ chat: group, text: 'and?', reply_to_message: { message_id: 5, from: { id: 777, is_bot: true }, chat: group, date: 0 } }), ctx)!;
    expect(reply.replyTo).toEqual({ messageId: '-100:5', isBot: true });
    const topic = normalizeUpdate(update({ chat: { ...group, is_forum: true }, text: 'in topic', message_thread_id: 3, is_topic_message: true, reply_to_message: { message_id: 3, from: { id: 777, is_bot: true }, chat: group, date: 0, forum_topic_created: { name: 't' } } }), ctx)!;
    expect(topic.threadId).toBe('3');
    expect(topic.replyTo).toBeUndefined();
  });

  it('captions become text, attachments are listed; service messages, edits and bots are ignored', () => {
    const photo = normalizeUpdate(update({ caption: 'look', photo: [{ file_id: 'x', file_unique_id: 'y', width: 1, height: 1 }] }), ctx)!;
    expect(photo.text).toBe('look');
    expect(photo.attachments).toEqual([{ kind: 'photo' }]);
    const doc = normalizeUpdate(update({ document: { file_id: 'd', file_unique_id: 'u', file_name: 'r.pdf', mime_type: 'application/pdf' } }), ctx)!;
    expect(doc.text).toBe('');
    expect(doc.attachments).toEqual([{ kind: 'document', name: 'r.pdf', mimeType: 'application/pdf' }]);
    expect(normalizeUpdate(update({ new_chat_members: [user] }), ctx)).toBeNull();
    expect(normalizeUpdate({ update_id: 2, edited_message: { message_id: 1, date: 0, chat: dm, from: user, text: 'x' } } as unknown as Update, ctx)).toBeNull();
    expect(normalizeUpdate(update({ text: 'hi', from: { ...user, is_bot: true } }), ctx)).toBeNull();
    // An anonymous admin speaks as the group (Telegram's GroupAnonymousBot is the `from`).
    const anon = normalizeUpdate(update({ chat: group, text: 'admin here', from: { id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' }, sender_chat: { id: -100, type: 'supergroup', title: 'G' } }), ctx)!;
    expect(anon.userId).toBe('-100');
    expect(anon.userName).toBeUndefined();
  });
});

describe('verifySecretToken', () => {
  it('accepts only the exact secret, as a single header value', () => {
    expect(verifySecretToken('s3cret_-X', 's3cret_-X')).toBe(true);
    expect(verifySecretToken('s3cret_-x', 's3cret_-X')).toBe(false);
    expect(verifySecretToken('s3cret_-X ', 's3cret_-X')).toBe(false);
    expect(verifySecretToken('', 's3cret_-X')).toBe(false);
    expect(verifySecretToken(undefined, 's3cret_-X')).toBe(false);
    expect(verifySecretToken(['s3cret_-X', 's3cret_-X'], 's3cret_-X')).toBe(false);
    expect(verifySecretToken('anything', '')).toBe(false);
  });
});

describe('decideApiError (the one table of Bot API failures)', () => {
  it.each([
    [429, 'Too Many Requests: retry after 3', 'wait_and_retry'],
    [400, "Bad Request: can't parse entities: Unsupported start tag", 'resend_plain'],
    [400, 'Bad Request: message is not modified: specified new message content', 'ignore'],
    [400, 'Bad Request: message to edit not found', 'send_new'],
    [400, 'Bad Request: chat not found', 'drop'],
    [400, 'Bad Request: group chat was upgraded to a supergroup chat', 'migrate'],
    [403, 'Forbidden: bot was blocked by the user', 'drop'],
    [401, 'Unauthorized', 'fatal'],
    [404, 'Not Found', 'fatal'],
    [409, 'Conflict: terminated by other getUpdates request', 'conflict'],
    [502, 'Bad Gateway', 'backoff'],
    [400, 'Bad Request: something new', 'fail'],
  ] as const)('%i %s → %s', (code, description, decision) => {
    expect(decideApiError(code, description)).toBe(decision);
  });
  it('no code (network failure) → backoff', () => expect(decideApiError(undefined)).toBe('backoff'));
});

describe('redactToken', () => {
  it('removes the token and its secret half from any text', () => {
    const token = '123456:TEST-FAKE-TOKEN';
    expect(redactToken(`request to http://x/bot${token}/getMe failed`, token)).toBe('request to http://x/bot[token]/getMe failed');
    expect(redactToken('secret TEST-FAKE-TOKEN alone', token)).toBe('secret [token] alone');
  });
});
