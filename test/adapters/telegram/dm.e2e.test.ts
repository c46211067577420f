/** `bot telegram` end to end against the fake Bot API: a DM conversation remembered across a restart, commands. */
import { describe, expect, it } from 'vitest';
import { FAKE_TOKEN } from '../../helpers/fake-telegram-server.js';
import { runCli } from '../../helpers/run-cli.js';
import { replyMatching, startTelegram, stopCli, telegramYaml, until, useTelegram, writeConfig } from './harness.js';

const t = useTelegram();
const ALICE = { id: 4242, username: 'alice' };
const dm = { id: ALICE.id, type: 'private' as const };

describe('bot telegram: direct messages', () => {
  it('answers a DM in session bot_telegram_<userId>, and remembers it after a restart', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }));
    let cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: dm, from: ALICE, text: 'Hi, my name is Ada' });
    const first = await until('first reply', () => replyMatching(t.fake, ALICE.id, /\[echo\] turn 1: you said "Hi, my name is Ada"/));
    expect(first.parseMode).toBe('HTML');
    // Typing was shown, the commands were registered.
    expect(t.fake.callsOf('sendChatAction').some((c) => c.params.chat_id === ALICE.id && c.params.action === 'typing')).toBe(true);
    expect(t.fake.callsOf('setMyCommands')[0]?.params.commands.map((c: { command: string }) => c.command)).toEqual(['start', 'help', 'new', 'status']);
    const output = await stopCli(cli);
    expect(output).toMatch(/stopped/);
    expect(output).not.toContain(FAKE_TOKEN);
    expect(output).not.toContain('TEST-FAKE-TOKEN');

    cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: dm, from: ALICE, text: "What's my name?" });
    const second = await until('second reply', () => replyMatching(t.fake, ALICE.id, /turn 2/));
    expect(second.visible).toMatch(/I remember 1 earlier message\(s\) from you; the first was "Hi, my name is Ada"\. Your name is Ada\./);
    await stopCli(cli);

    const show = await runCli(t.sb, ['session', 'show', 'bot_telegram_4242']);
    expect(show.stdout).toContain("What's my name?");
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('Hi, my name is Ada');
  });

  it('a photo with a caption and a bare document reach the agent as text with a note of the attachment', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }));
    const cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: dm, from: ALICE, caption: 'look at this', photo: true });
    await until('photo reply', () => replyMatching(t.fake, ALICE.id, /you said "look at this\n\[attached photo\]"/));
    t.fake.userSays({ chat: dm, from: ALICE, document: { file_name: 'report.pdf', mime_type: 'application/pdf' } });
    await until('document reply', () => replyMatching(t.fake, ALICE.id, /turn 2: you said "\[attached document "report\.pdf" \(application\/pdf\)\]"/));
    await stopCli(cli);
  });
});
