/**
 * The Discord adapter in process — the real discord.js against the fake Discord — with a literal
 * AdapterHost: what reaches the host, what goes out over REST (nonce, no pings, quoting,
 * interaction responses), 429s, lost responses (posted once by nonce, T37), blocked users,
 * resumes (a replayed event not ingested again, T37).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDiscordAdapter } from '../../../adapters/discord/adapter.js';
import { DiscordAdapterConfig } from '../../../adapters/discord/config.js';
import { nonceOf } from '../../../adapters/discord/outbound.js';
import type { PlatformAdapter } from '../../../src/core/adapter.js';
import { FAKE_DISCORD_TOKEN, GENERAL_CHANNEL_ID, startFakeDiscord, THREAD_ID, type FakeDiscord } from '../../helpers/fake-discord-server.js';
import { waitFor } from '../../helpers/wait-for.js';
import { literalHost, type LiteralHost } from './literal-host.js';

const ALICE = { id: '1300000000000000001', username: 'alice' };
const BOB = { id: '1300000000000000002', username: 'bob' };
const chunk = (text: string) => ({ text, plain: text, formatted: true });

let fake: FakeDiscord;
let h: LiteralHost;
let adapter: PlatformAdapter | undefined;

beforeEach(async () => {
  fake = await startFakeDiscord();
  h = literalHost();
});
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  await fake.close();
});

function configOf(extra: Record<string, unknown> = {}) {
  return DiscordAdapterConfig.parse({ platform: 'discord', id: 'dc', agent: 'a', enabled: true, token: FAKE_DISCORD_TOKEN, allowed_users: [], unknown_user_policy: 'allow', group_policy: 'mention_only', api_root: fake.url, ...extra });
}

async function started(extra: Record<string, unknown> = {}): Promise<PlatformAdapter> {
  adapter = createDiscordAdapter(configOf(extra), h.host);
  await adapter.start();
  await waitFor('gateway connected', () => h.hasLog(/discord gateway connected/), { timeoutMs: 10_000, explain: () => h.logText() });
  return adapter;
}

describe('discord adapter (in process, real discord.js, fake Discord)', () => {
  it('DMs and guild mentions reach the host; sends carry a nonce, enforce_nonce, no pings, and quote in guilds', async () => {
    const a = await started();
    expect(a.account).toBe('@bothost-test');
    expect(h.delivering.live).toBe(1);
    await waitFor('slash commands registered', () => fake.commands.length === 4);
    expect(fake.commands.map((c) => c.name)).toEqual(['ask', 'new', 'status', 'help']);

    const dmId = fake.dm(ALICE, 'hello there');
    const dm = await waitFor('DM ingested', () => h.ingested.find((i) => i.message.messageId === dmId));
    expect(dm.message).toMatchObject({ platform: 'discord', botId: 'dc', userId: ALICE.id, text: 'hello there', isDirect: true, userName: 'alice' });
    const sentId = await a.outbound.send(dm.message.address!, chunk('hi **alice**'), { idempotencyKey: `dc|${dmId}|0`, index: 0 });
    const [posted] = fake.messages(fake.dmChannelOf(ALICE.id));
    expect(posted).toMatchObject({ id: sentId, content: 'hi **alice**', nonce: nonceOf(`dc|${dmId}|0`), enforceNonce: true, allowedMentions: { parse: [] } });
    expect(posted!.replyTo).toBeUndefined();

    const gId = fake.guildMessage(BOB, 'what now?', { mention: true });
    const g = await waitFor('mention ingested', () => h.ingested.find((i) => i.message.messageId === gId));
    expect(g.message).toMatchObject({ text: 'what now?', mentionsBot: true, isDirect: false, chatId: GENERAL_CHANNEL_ID });
    await a.outbound.send(g.message.address!, chunk('first'), { idempotencyKey: 'k|0', index: 0 });
    await a.outbound.send(g.message.address!, chunk('second'), { idempotencyKey: 'k|1', index: 1 });
    const inGuild = fake.messages(GENERAL_CHANNEL_ID);
    expect(inGuild.map((m) => [m.content, m.replyTo])).toEqual([['first', gId], ['second', undefined]]);
    // Typing goes to the channel; edits replace the content.
    await a.outbound.typing!(g.message.address!);
    expect(fake.typing.map((t) => t.channelId)).toContain(GENERAL_CHANNEL_ID);
    await a.outbound.edit!(g.message.address!, inGuild[0]!.id, chunk('first, edited'));
    expect(fake.messages(GENERAL_CHANNEL_ID)[0]).toMatchObject({ content: 'first, edited', edits: 1 });
    // The bot's own messages came back over the gateway and were not ingested.
    expect(h.ingested).toHaveLength(2);
    expect(h.logText()).not.toContain(FAKE_DISCORD_TOKEN);
  });

  it('a thread message is its own session with threads: per_thread; allowed_channels keeps other channels out', async () => {
    await started({ allowed_channels: [GENERAL_CHANNEL_ID] });
    const inThread = fake.guildMessage(ALICE, 'in the thread', { channelId: THREAD_ID, mention: true });
    const t = await waitFor('thread message', () => h.ingested.find((i) => i.message.messageId === inThread));
    expect(t.message).toMatchObject({ chatId: GENERAL_CHANNEL_ID, threadId: THREAD_ID });
    expect(t.options).toEqual({ scope: 'per_thread' });
    fake.guildMessage(ALICE, 'elsewhere', { channelId: '1200000000000000011', mention: true });
    const later = fake.guildMessage(ALICE, 'back in general', { mention: true });
    await waitFor('general message', () => h.ingested.find((i) => i.message.messageId === later));
    expect(h.ingested.map((i) => i.message.text)).toEqual(['in the thread', 'back in general']);
  });

  it('a slash command is deferred within 3 s; the reply replaces the deferred response, more chunks are follow-ups', async () => {
    const a = await started();
    const id = fake.slash(BOB, 'ask', { args: { question: 'why is the sky blue?' } });
    const got = await waitFor('command ingested', () => h.ingested.find((i) => i.message.messageId === id));
    expect(got.message).toMatchObject({ text: 'why is the sky blue?', mentionsBot: true, userId: BOB.id });
    const record = fake.interactions.get(id)!;
    expect(record.callback?.type).toBe(5);
    expect(record.callback!.at - record.createdAt).toBeLessThan(3000);
    expect(got.message.address).not.toContain(record.token);

    const first = await a.outbound.send(got.message.address!, chunk('Rayleigh scattering.'), { idempotencyKey: `dc|${id}|0`, index: 0 });
    await a.outbound.edit!(got.message.address!, first!, chunk('Rayleigh scattering, mostly.'));
    await a.outbound.send(got.message.address!, chunk('(part two)'), { idempotencyKey: `dc|${id}|1`, index: 1 });
    const shown = fake.messages(GENERAL_CHANNEL_ID);
    expect(shown.map((m) => [m.content, m.interactionId])).toEqual([['Rayleigh scattering, mostly.', id], ['(part two)', id]]);
    expect(fake.callsOf('PATCH', /^\/webhooks\/\d+\/:token\/messages\/@original$/)).toHaveLength(1);
    expect(h.logText()).not.toContain(record.token);
  });

  it('once the interaction token is no longer valid, the reply is posted in the channel', async () => {
    const a = await started();
    const id = fake.slash(BOB, 'ask', { args: { question: 'slow one' } });
    const got = await waitFor('command ingested', () => h.ingested.find((i) => i.message.messageId === id));
    fake.interactionTokenTtlMs = 0;
    await a.outbound.send(got.message.address!, chunk('late answer'), { idempotencyKey: `dc|${id}|0`, index: 0 });
    expect(fake.messages(GENERAL_CHANNEL_ID)).toMatchObject([{ content: 'late answer', nonce: nonceOf(`dc|${id}|0`) }]);
  });

  it('a POST that succeeded but whose response was lost is retried by discord.js and posts once (nonce)', async () => {
    const a = await started();
    const id = fake.dm(ALICE, 'x');
    const got = await waitFor('ingested', () => h.ingested.find((i) => i.message.messageId === id));
    fake.failNext({ method: 'POST', route: /^\/channels\/\d+\/messages$/, status: 502, afterCommit: true });
    await a.outbound.send(got.message.address!, chunk('exactly once'), { idempotencyKey: `dc|${id}|0`, index: 0 });
    expect(fake.callsOf('POST', /^\/channels\/\d+\/messages$/).map((c) => c.status)).toEqual([502, 200]);
    expect(fake.messages(fake.dmChannelOf(ALICE.id)).map((m) => m.content)).toEqual(['exactly once']);
  });

  it('a 429 waits retry_after, then sends; a user who blocked the bot is logged and dropped', async () => {
    const a = await started();
    const id = fake.dm(ALICE, 'x');
    const got = await waitFor('ingested', () => h.ingested.find((i) => i.message.messageId === id));
    fake.failNext({ method: 'POST', route: /^\/channels\/\d+\/messages$/, status: 429, retryAfter: 1.2 });
    const t0 = Date.now();
    await a.outbound.send(got.message.address!, chunk('after the wait'), { idempotencyKey: 'rl|0', index: 0 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1150);
    expect(fake.messages(fake.dmChannelOf(ALICE.id)).map((m) => m.content)).toEqual(['after the wait']);
    expect(h.hasLog(/discord rate limit \(429\): waiting retry_after/)).toBe(true);

    fake.blockDms(ALICE.id);
    const calls = fake.calls.length;
    await expect(a.outbound.send(got.message.address!, chunk('nobody home'), { idempotencyKey: 'bl|0', index: 0 })).resolves.toBeUndefined();
    expect(fake.calls.length - calls).toBe(1);
    expect(h.hasLog(/refused the message for good/)).toBe(true);
  });

  it('a dropped connection is resumed; what was dispatched meanwhile arrives; a replayed event is not ingested again', async () => {
    await started();
    const before = fake.dm(ALICE, 'before the drop');
    await waitFor('first', () => h.ingested.find((i) => i.message.messageId === before));
    fake.gateway.resumeOverlap = 3;
    fake.gateway.closeAll(4000);
    const during = fake.dm(ALICE, 'while disconnected');
    await waitFor('resumed', () => fake.gateway.resumes === 1 && h.ingested.some((i) => i.message.messageId === during), { explain: () => h.logText() });
    expect(fake.gateway.identifies).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.ingested.filter((i) => i.message.messageId === before)).toHaveLength(1);
    expect(h.hasLog(/discord gateway resumed/)).toBe(true);
  });
});
