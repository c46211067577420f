/**
 * `bot discord` end to end against the fake Discord (the real discord.js inside): two users in
 * DMs, each in bot_discord_<userId>, remembered across a restart; a MESSAGE_CREATE delivered
 * again to the restarted process makes no second turn (T20); typed commands; no token in any output.
 */
import { describe, expect, it } from 'vitest';
import { FAKE_DISCORD_TOKEN, visibleText } from '../../helpers/fake-discord-server.js';
import { runCli } from '../../helpers/run-cli.js';
import { FileSessionStore } from '../../../src/sessions/file-session-store.js';
import { CONNECTED, discordYaml, replyMatching, sleep, startDiscord, stopCli, until, useDiscord, writeConfig } from './harness.js';

const d = useDiscord();
const ADA = { id: '1300000000000000101', username: 'ada' };
const BOB = { id: '1300000000000000102', username: 'bob' };

describe('bot discord: direct messages', () => {
  it('two users, each in their own session, remembered after a restart; a redelivery makes no second turn', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }));
    let cli = await startDiscord(d.sb);
    expect(cli.stderr()).toMatch(CONNECTED);
    const adaDm = d.fake.dmChannelOf(ADA.id);
    const bobDm = d.fake.dmChannelOf(BOB.id);
    const first = d.fake.dm(ADA, 'Hi, my name is Ada');
    d.fake.dm(BOB, 'my name is Bob');
    const r1 = await until('Ada turn 1', () => replyMatching(d.fake, adaDm, /\[echo\] turn 1: you said "Hi, my name is Ada"/));
    await until('Bob turn 1', () => replyMatching(d.fake, bobDm, /\[echo\] turn 1: you said "my name is Bob"/));
    // No pings, a deterministic nonce enforced, no quote in a DM; typing was shown.
    expect(r1).toMatchObject({ allowedMentions: { parse: [] }, enforceNonce: true });
    expect(r1.nonce).toMatch(/^\d{1,25}$/);
    expect(r1.replyTo).toBeUndefined();
    expect(d.fake.typing.some((t) => t.channelId === adaDm)).toBe(true);
    const out1 = await stopCli(cli);
    expect(out1).toMatch(/stopped/);

    cli = await startDiscord(d.sb);
    // The platform delivers Ada's first message again to the new process: deduplicated by its id.
    d.fake.dispatch('MESSAGE_CREATE', d.fake.eventOf(first)!);
    d.fake.dm(ADA, "What's my name?");
    const r2 = await until('Ada turn 2', () => replyMatching(d.fake, adaDm, /turn 2/));
    expect(r2.content).toMatch(/I remember 1 earlier message\(s\) from you; the first was "Hi, my name is Ada"\. Your name is Ada\./);
    d.fake.dm(BOB, 'and again');
    await until('Bob turn 2', () => replyMatching(d.fake, bobDm, /turn 2: you said "and again"/));
    d.fake.dm(ADA, '/status');
    const status = await until('status answer', () => d.fake.messages(adaDm).find((m) => /Session: /.test(m.content)));
    // Plain answers are escaped for Discord and show as typed.
    expect(status.content).toContain('bot\\_discord\\_1300000000000000101');
    expect(visibleText(status.content)).toMatch(/^Session: bot_discord_1300000000000000101$/m);
    await sleep(500);
    expect(d.fake.messages(adaDm).filter((m) => /turn 1/.test(m.content))).toHaveLength(1);
    const out2 = await stopCli(cli);

    const show = await runCli(d.sb, ['session', 'show', `bot_discord_${ADA.id}`]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('Hi, my name is Ada');
    expect(show.stdout).toContain("What's my name?");
    const store = new FileSessionStore({ dir: d.sb.sessionsDir });
    try {
      const history = await store.getChatHistory(`bot_discord_${ADA.id}`);
      expect(history.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
      expect(history.filter((m) => m.content === 'Hi, my name is Ada')).toHaveLength(1);
    } finally {
      await store.close();
    }
    const list = await runCli(d.sb, ['session', 'list', '--json']);
    expect(list.stdout).toContain(`bot_discord_${BOB.id}`);
    for (const out of [out1, out2, show.all]) {
      expect(out).not.toContain(FAKE_DISCORD_TOKEN);
      expect(out).not.toContain(FAKE_DISCORD_TOKEN.split('.')[1]!);
    }
  });
});
