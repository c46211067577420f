import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/core/inbound.js';
import type { TurnQueue, TurnRequest } from '../../src/core/turn-queue.js';
import { createIngress, RecentIds, type BotPolicy, type IngressContext } from '../../src/ingress/index.js';
import { REFUSAL_TEXT } from '../../src/ingress/allowlist.js';
import { parseCommand } from '../../src/ingress/commands.js';
import { compose } from '../../src/ingress/pipeline.js';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';

const bot = (over: Partial<BotPolicy> = {}): BotPolicy => ({
  id: 'tg',
  platform: 'telegram',
  agent: 'assistant',
  allowedUsers: [],
  unknownUserPolicy: 'allow',
  groupPolicy: 'mention_only',
  scope: 'per_user',
  username: 'my_bot',
  ...over,
});

let nextId = 1;
const msg = (over: Partial<InboundMessage> = {}): InboundMessage => ({
  platform: 'telegram',
  botId: 'tg',
  chatId: '42',
  userId: '12345',
  messageId: String(nextId++),
  text: 'hello',
  isDirect: true,
  mentionsBot: false,
  receivedAt: Date.now(),
  ...over,
});

function setup(queueImpl?: Partial<TurnQueue>) {
  const enqueued: TurnRequest[] = [];
  const replies: string[] = [];
  const store = new MemorySessionStore();
  const queue: TurnQueue = {
    enqueue: async (r) => void enqueued.push(r),
    close: async () => undefined,
    ...queueImpl,
  };
  const ingress = createIngress({ queue, store, seen: new RecentIds(100), describeAgent: () => ({ name: 'Assistant', model: 'echo (offline)' }) });
  const send = async (m: InboundMessage, policy = bot()) => {
    const ctx: IngressContext = { message: m, bot: policy, reply: async (t) => void replies.push(t) };
    await ingress(ctx);
    return ctx;
  };
  return { enqueued, replies, store, send };
}

describe('ingress pipeline', () => {
  it('enqueues a direct message under the seed-format session key', async () => {
    const { enqueued, send } = setup();
    const ctx = await send(msg());
    expect(ctx.outcome).toBe('enqueued');
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.sessionId).toBe('bot_telegram_12345');
    expect(enqueued[0]!.agent).toBe('assistant');
  });

  it('drops a redelivered message id but not the same id from another bot', async () => {
    const { enqueued, send } = setup();
    const m = msg();
    await send(m);
    expect((await send({ ...m })).outcome).toBe('duplicate');
    expect((await send({ ...m, botId: 'tg2' }, bot({ id: 'tg2' }))).outcome).toBe('enqueued');
    expect(enqueued).toHaveLength(2);
  });

  it('forgets a message whose enqueue failed, so a redelivery is processed', async () => {
    let fail = true;
    const enqueued: TurnRequest[] = [];
    const { send } = setup({
      enqueue: async (r) => {
        if (fail) throw new Error('queue down');
        enqueued.push(r);
      },
    });
    const m = msg();
    await expect(send(m)).rejects.toThrow('queue down');
    fail = false;
    expect((await send({ ...m })).outcome).toBe('enqueued');
    expect(enqueued).toHaveLength(1);
  });

  it('allowlist: deny policy refuses unknown users in DMs with a message, silently in groups', async () => {
    const { enqueued, replies, send } = setup();
    const policy = bot({ allowedUsers: ['999', 'alice'], unknownUserPolicy: 'deny' });
    expect((await send(msg(), policy)).outcome).toBe('denied');
    expect(replies).toEqual([REFUSAL_TEXT]);
    expect((await send(msg({ isDirect: false, mentionsBot: true }), policy)).outcome).toBe('denied');
    expect(replies).toHaveLength(1);
    expect((await send(msg({ userId: '999' }), policy)).outcome).toBe('enqueued');
    expect((await send(msg({ userId: '7', userName: 'alice' }), policy)).outcome).toBe('enqueued');
    expect(enqueued).toHaveLength(2);
  });

  it('group policy mention_only: mentions, replies to the bot and commands pass; chatter is ignored', async () => {
    const { send } = setup();
    const group = { isDirect: false, chatId: '-100' };
    expect((await send(msg({ ...group }))).outcome).toBe('ignored');
    expect((await send(msg({ ...group, mentionsBot: true }))).outcome).toBe('enqueued');
    expect((await send(msg({ ...group, replyTo: { messageId: '1', isBot: true } }))).outcome).toBe('enqueued');
    expect((await send(msg({ ...group, replyTo: { messageId: '1', isBot: false } }))).outcome).toBe('ignored');
    expect((await send(msg({ ...group, text: '/help' }))).outcome).toBe('command');
  });

  it('group policies respond_all and command_only', async () => {
    const { send } = setup();
    const group = { isDirect: false };
    expect((await send(msg(group), bot({ groupPolicy: 'respond_all' }))).outcome).toBe('enqueued');
    expect((await send(msg({ ...group, mentionsBot: true }), bot({ groupPolicy: 'command_only' }))).outcome).toBe('ignored');
    expect((await send(msg({ ...group, text: '/status' }), bot({ groupPolicy: 'command_only' }))).outcome).toBe('command');
  });

  it('session scopes: per_chat and per_thread keys in groups, per_user in DMs, explicit ids win', async () => {
    const { enqueued, send } = setup();
    await send(msg({ isDirect: false, mentionsBot: true, chatId: '-100' }), bot({ scope: 'per_chat' }));
    await send(msg({ isDirect: false, mentionsBot: true, chatId: '-100', threadId: '7' }), bot({ scope: 'per_thread' }));
    await send(msg({ chatId: '12345' }), bot({ scope: 'per_chat' }));
    await send(msg({ sessionId: 'my-own-id' }));
    expect(enqueued.map((r) => r.sessionId)).toEqual(['bot_telegram_chat_-100', 'bot_telegram_chat_-100_thread_7', 'bot_telegram_12345', 'my-own-id']);
  });

  it('/start greets, /help lists, /status reports, /new clears — none reach the agent', async () => {
    const { enqueued, replies, store, send } = setup();
    await store.addMessage('bot_telegram_12345', 'user', 'old');
    await send(msg({ text: '/start', userName: 'Ann' }));
    expect(replies.at(-1)).toMatch(/^Hi, Ann! I'm Assistant/);
    await send(msg({ text: '/help' }));
    expect(replies.at(-1)).toContain('/new');
    await send(msg({ text: '/status' }));
    expect(replies.at(-1)).toContain('Session: bot_telegram_12345');
    expect(replies.at(-1)).toContain('Messages kept: 1');
    expect(replies.at(-1)).toContain('echo (offline)');
    await send(msg({ text: '/new' }));
    expect(replies.at(-1)).toMatch(/new conversation/);
    expect(await store.getChatHistory('bot_telegram_12345')).toEqual([]);
    expect(enqueued).toHaveLength(0);
  });

  it('/cmd@ourbot is handled, /cmd@otherbot is ignored, unknown commands go to the agent', async () => {
    const { enqueued, replies, send } = setup();
    expect((await send(msg({ text: '/help@my_bot' }))).outcome).toBe('command');
    expect((await send(msg({ text: '/help@other_bot' }))).outcome).toBe('ignored');
    expect((await send(msg({ text: '/weather Paris' }))).outcome).toBe('enqueued');
    expect(replies).toHaveLength(1);
    expect(enqueued[0]!.inbound.text).toBe('/weather Paris');
  });

  it('parses commands strictly', () => {
    expect(parseCommand('/start')).toEqual({ name: 'start', args: '' });
    expect(parseCommand('/New@Bot  a b ')).toEqual({ name: 'new', target: 'Bot', args: 'a b' });
    expect(parseCommand('hello /start')).toBeNull();
    expect(parseCommand('/')).toBeNull();
  });

  it('compose refuses next() twice', async () => {
    const run = compose([
      async (_c, next) => {
        await next();
        await next();
      },
    ]);
    await expect(run({} as IngressContext)).rejects.toThrow('next() called twice');
  });
});
