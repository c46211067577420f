/** Discord message / slash command → InboundMessage, and the reply address round trip. */
import { describe, expect, it } from 'vitest';
import { decodeAddress, encodeAddress } from '../../../adapters/discord/address.js';
import { normalizeCommand, normalizeMessage, type DiscordMessageLike } from '../../../adapters/discord/normalize.js';

const BOT = '1100000000000000001';
const ctx = { botId: 'dc', botUserId: BOT, now: () => 1234 };
const ALICE = { id: '1300000000000000001', username: 'alice' };
const BOB = { id: '1300000000000000002', username: 'bob' };

function message(over: Partial<DiscordMessageLike> & { mentionUsers?: Array<{ id: string; username: string }> } = {}): DiscordMessageLike {
  const { mentionUsers = [], ...rest } = over;
  return {
    id: '1400000000000000001',
    content: 'hello',
    channelId: '1500000000000000001',
    guildId: null,
    author: ALICE,
    channel: { type: 1 },
    mentions: { users: new Map(mentionUsers.map((u) => [u.id, u])), repliedUser: null },
    reference: null,
    attachments: new Map(),
    createdTimestamp: 1,
    ...rest,
  };
}

describe('normalizeMessage', () => {
  it('a DM: per-user fields, the message id as idempotency key, no quote in the address', () => {
    const m = normalizeMessage(message(), ctx)!;
    expect(m).toEqual({
      platform: 'discord',
      botId: 'dc',
      chatId: '1500000000000000001',
      userId: ALICE.id,
      messageId: '1400000000000000001',
      text: 'hello',
      isDirect: true,
      mentionsBot: false,
      userName: 'alice',
      receivedAt: 1234,
      address: 'm|1500000000000000001|',
    });
  });

  it('a guild mention: <@bot> and <@!bot> removed, other mentions become @name, the address quotes the message', () => {
    const m = normalizeMessage(message({ guildId: '1200000000000000001', channel: { type: 0 }, content: `<@${BOT}> ask <@${BOB.id}> and <@!${BOT}>  please`, mentionUsers: [BOB] }), ctx)!;
    expect(m.mentionsBot).toBe(true);
    expect(m.isDirect).toBe(false);
    expect(m.text).toBe('ask @bob and please');
    expect(decodeAddress(m.address!)).toEqual({ kind: 'message', channelId: '1500000000000000001', quoteMessageId: '1400000000000000001' });
  });

  it('a reply to one of the bot\'s messages is marked isBot; to someone else\'s is not', () => {
    const toBot = normalizeMessage(message({ guildId: 'g', channel: { type: 0 }, reference: { messageId: '99' }, mentions: { users: new Map(), repliedUser: { id: BOT } } }), ctx)!;
    expect(toBot.replyTo).toEqual({ messageId: '99', isBot: true });
    expect(toBot.mentionsBot).toBe(false);
    const toBob = normalizeMessage(message({ guildId: 'g', channel: { type: 0 }, reference: { messageId: '98' }, mentions: { users: new Map(), repliedUser: { id: BOB.id } } }), ctx)!;
    expect(toBob.replyTo).toEqual({ messageId: '98', isBot: false });
  });

  it('a thread: chat is the parent channel, thread is the thread channel, replies go to the thread', () => {
    const m = normalizeMessage(message({ guildId: 'g', channelId: '1600000000000000001', channel: { type: 11, parentId: '1500000000000000009' } }), ctx)!;
    expect(m).toMatchObject({ chatId: '1500000000000000009', threadId: '1600000000000000001' });
    expect(decodeAddress(m.address!)).toMatchObject({ channelId: '1600000000000000001' });
  });

  it('ignored: bots (this one included), webhooks, system messages, a bare mention with nothing else', () => {
    expect(normalizeMessage(message({ author: { id: BOT, username: 'me', bot: true } }), ctx)).toBeNull();
    expect(normalizeMessage(message({ author: { ...BOB, bot: true } }), ctx)).toBeNull();
    expect(normalizeMessage(message({ webhookId: '5' }), ctx)).toBeNull();
    expect(normalizeMessage(message({ system: true }), ctx)).toBeNull();
    expect(normalizeMessage(message({ content: `  <@${BOT}>  ` }), ctx)).toBeNull();
  });

  it('attachments become notes with kind, name, type and URL; text may be empty then', () => {
    const attachments = new Map([
      ['1', { name: 'cat.png', contentType: 'image/png', url: 'https://cdn/cat.png' }],
      ['2', { name: 'notes.txt', contentType: null, url: 'https://cdn/notes.txt' }],
    ]);
    const m = normalizeMessage(message({ content: '', attachments }), ctx)!;
    expect(m.text).toBe('');
    expect(m.attachments).toEqual([
      { kind: 'photo', name: 'cat.png', mimeType: 'image/png', url: 'https://cdn/cat.png' },
      { kind: 'document', name: 'notes.txt', url: 'https://cdn/notes.txt' },
    ]);
  });
});

describe('normalizeCommand', () => {
  const base = { id: '1700000000000000001', channelId: '1500000000000000001', guildId: '1200000000000000001', user: ALICE, channel: { type: 0 }, createdTimestamp: 1 };

  it('/ask question → the question as text, addressed to the bot, the interaction id as key and in the address', () => {
    const m = normalizeCommand({ ...base, commandName: 'ask', question: '  why is the sky blue? ' }, ctx)!;
    expect(m).toMatchObject({ messageId: base.id, text: 'why is the sky blue?', mentionsBot: true, isDirect: false, userId: ALICE.id });
    expect(m.address).toBe(`i|${base.id}|${base.channelId}`);
    expect(m.address).not.toMatch(/token/i);
  });

  it('/new, /status, /help become the typed commands the ingress chain answers', () => {
    for (const name of ['new', 'status', 'help']) expect(normalizeCommand({ ...base, commandName: name }, ctx)!.text).toBe(`/${name}`);
  });

  it('a DM command is direct; an empty question is nothing', () => {
    expect(normalizeCommand({ ...base, guildId: null, channel: { type: 1 }, commandName: 'new' }, ctx)!.isDirect).toBe(true);
    expect(normalizeCommand({ ...base, commandName: 'ask', question: ' ' }, ctx)).toBeNull();
  });
});

describe('reply addresses', () => {
  it('round-trip; anything else is refused with a clear error', () => {
    for (const t of [
      { kind: 'message' as const, channelId: '1', quoteMessageId: '2' },
      { kind: 'message' as const, channelId: '1' },
      { kind: 'interaction' as const, interactionId: '3', channelId: '4' },
    ]) expect(decodeAddress(encodeAddress(t))).toEqual(t);
    expect(() => decodeAddress('x|1|2')).toThrow(/not a Discord reply address/);
    expect(() => decodeAddress('i|1|')).toThrow(/not a Discord reply address/);
    expect(() => decodeAddress('m|../etc|')).toThrow(/not a Discord reply address/);
  });
});
