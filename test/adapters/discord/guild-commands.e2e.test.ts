/**
 * `bot discord` in a guild, end to end: mention gating (a mention or a reply to the bot is
 * answered, quoting it; other chatter is not), a thread as its own session, slash commands
 * deferred at once and answered by editing the deferred response (`/ask`, and `/new` `/status`
 * through the same ingress as typed commands), and a MESSAGE_CREATE replayed after a RESUME
 * making no second turn (T37).
 */
import { describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../../src/sessions/file-session-store.js';
import { BOT_USER, FAKE_DISCORD_TOKEN, GENERAL_CHANNEL_ID, THREAD_ID, visibleText } from '../../helpers/fake-discord-server.js';
import { waitFor } from '../../helpers/wait-for.js';
import { discordYaml, replyMatching, sleep, startDiscord, stopCli, until, useDiscord, writeConfig } from './harness.js';

const d = useDiscord();
const CARA = { id: '1300000000000000201', username: 'cara' };
const DAN = { id: '1300000000000000202', username: 'dan' };

async function history(sb: { sessionsDir: string }, key: string) {
  const store = new FileSessionStore({ dir: sb.sessionsDir });
  try {
    return await store.getChatHistory(key);
  } finally {
    await store.close();
  }
}

describe('bot discord: guilds, threads, slash commands', () => {
  it('mention gating, replies to the bot, a thread as its own session, a RESUME replay makes no second turn', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }));
    const cli = await startDiscord(d.sb);
    d.fake.guildMessage(CARA, 'just chatting among ourselves');
    const asked = d.fake.guildMessage(CARA, 'what is two plus two?', { mention: true });
    const answer = await until('answer to the mention', () => replyMatching(d.fake, GENERAL_CHANNEL_ID, /turn 1: you said "what is two plus two\?"/));
    // Quoting what it answers; the mention itself stripped from what the agent saw.
    expect(answer.replyTo).toBe(asked);
    expect(answer.allowedMentions).toEqual({ parse: [] });
    // A reply to the bot's message, without a mention, is answered too.
    d.fake.guildMessage(CARA, 'and three plus three?', { replyTo: answer.id });
    await until('answer to the reply', () => replyMatching(d.fake, GENERAL_CHANNEL_ID, /turn 2: you said "and three plus three\?"/));
    await sleep(300);
    expect(d.fake.messages(GENERAL_CHANNEL_ID).some((m) => /just chatting/.test(m.content))).toBe(false);

    // A thread is its own session (threads: per_thread, the default), answered in the thread.
    d.fake.guildMessage(CARA, 'thread question', { channelId: THREAD_ID, mention: true });
    await until('answer in the thread', () => replyMatching(d.fake, THREAD_ID, /turn 1: you said "thread question"/));
    // (A streamed reply is visible before its turn is committed.)
    await waitFor('the thread session committed', async () => (await history(d.sb, `bot_discord_chat_${GENERAL_CHANNEL_ID}_thread_${THREAD_ID}`)).length === 2);
    await waitFor('Cara\'s session committed', async () => (await history(d.sb, `bot_discord_${CARA.id}`)).length === 4);

    // The connection drops; on RESUME the fake replays already delivered events too.
    d.fake.gateway.resumeOverlap = 20;
    d.fake.gateway.closeAll(4000);
    await until('resumed', () => d.fake.gateway.resumes === 1 && d.fake.gateway.streaming === 1);
    const after = d.fake.guildMessage(DAN, 'after the resume', { mention: true });
    await until('answer after the resume', () => replyMatching(d.fake, GENERAL_CHANNEL_ID, /you said "after the resume"/));
    expect(d.fake.messages(GENERAL_CHANNEL_ID).find((m) => m.replyTo === after)).toBeDefined();
    await sleep(800);
    expect(d.fake.gateway.identifies).toBe(1);
    expect(await history(d.sb, `bot_discord_${CARA.id}`)).toHaveLength(4);
    expect(d.fake.messages(GENERAL_CHANNEL_ID).filter((m) => /turn 1: you said "what is two plus two/.test(m.content))).toHaveLength(1);
    expect(await stopCli(cli)).not.toContain(FAKE_DISCORD_TOKEN);
  });

  it('slash commands: registered, deferred within 3 s, /ask answered in the deferred response; /new and /status through the ingress', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }));
    const cli = await startDiscord(d.sb);
    await until('commands registered', () => d.fake.commands.length === 4);
    expect(d.fake.commands.map((c) => c.name)).toEqual(['ask', 'new', 'status', 'help']);

    const ask = d.fake.slash(DAN, 'ask', { args: { question: 'my name is Dan' } });
    const asked = await until('the deferred response answered', () => d.fake.messages(GENERAL_CHANNEL_ID).find((m) => m.interactionId === ask && /turn 1: you said "my name is Dan"/.test(m.content)));
    const record = d.fake.interactions.get(ask)!;
    expect(record.callback?.type).toBe(5);
    expect(record.callback!.at - record.createdAt).toBeLessThan(3000);
    expect(record.originalMessageId).toBe(asked.id);

    await waitFor('the /ask turn committed', async () => (await history(d.sb, `bot_discord_${DAN.id}`)).length === 2);
    const status = d.fake.slash(DAN, 'status');
    const shown = await until('/status answer', () => d.fake.messages(GENERAL_CHANNEL_ID).find((m) => m.interactionId === status));
    expect(visibleText(shown.content)).toMatch(new RegExp(`Session: bot_discord_${DAN.id}\\nMessages kept: 2`));

    const fresh = d.fake.slash(DAN, 'new');
    await until('/new answer', () => d.fake.messages(GENERAL_CHANNEL_ID).find((m) => m.interactionId === fresh));
    await waitFor('the session cleared', async () => (await history(d.sb, `bot_discord_${DAN.id}`)).length === 0);
    const again = d.fake.slash(DAN, 'ask', { args: { question: 'hello again' } });
    await until('a fresh conversation', () => d.fake.messages(GENERAL_CHANNEL_ID).find((m) => m.interactionId === again && /turn 1: you said "hello again"/.test(m.content)));

    // A slash command in a DM works the same way.
    const inDm = d.fake.slash(DAN, 'ask', { args: { question: 'in private' }, dm: true });
    await until('DM slash answer', () => d.fake.messages(d.fake.dmChannelOf(DAN.id)).find((m) => m.interactionId === inDm && /in private/.test(m.content)));
    const out = await stopCli(cli);
    for (const i of d.fake.interactions.values()) expect(out).not.toContain(i.token);
    expect(out).not.toContain(FAKE_DISCORD_TOKEN);
    expect(BOT_USER.id).not.toBe(DAN.id);
  });
});
