/** `bot telegram` against the fake Bot API: commands, group gating, forum topics, the allowlist. */
import { describe, expect, it } from 'vitest';
import { replyMatching, sleep, startTelegram, stopCli, telegramYaml, until, useTelegram, writeConfig } from './harness.js';

const t = useTelegram();
const ALICE = { id: 4242, username: 'alice' };
const BOB = { id: 5151, username: 'bob' };
const dm = { id: ALICE.id, type: 'private' as const };
const GROUP = { id: -100_123, type: 'supergroup' as const, title: 'Team' };

describe('bot telegram: commands', () => {
  it('/start greets, /help lists, /status shows the session, /new forgets; command answers are plain text', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }));
    const cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: dm, from: ALICE, text: '/start' });
    const hello = await until('greeting', () => replyMatching(t.fake, ALICE.id, /^Hi, alice! I'm assistant/));
    expect(hello.parseMode).toBeUndefined();
    expect(hello.visible).toContain('/status');
    t.fake.userSays({ chat: dm, from: ALICE, text: '/help' });
    await until('help', () => replyMatching(t.fake, ALICE.id, /^Commands:\n\/start/));
    t.fake.userSays({ chat: dm, from: ALICE, text: 'first message' });
    await until('turn 1', () => replyMatching(t.fake, ALICE.id, /turn 1: you said "first message"/));
    // The streamed preview can show the whole reply a moment before the turn is committed, and
    // /status reports what is committed: give the commit that moment.
    await sleep(500);
    t.fake.userSays({ chat: dm, from: ALICE, text: '/status' });
    const status = await until('status', () => replyMatching(t.fake, ALICE.id, /^Session: bot_telegram_4242/));
    expect(status.visible).toMatch(/Messages kept: 2/);
    t.fake.userSays({ chat: dm, from: ALICE, text: '/new' });
    await until('new', () => replyMatching(t.fake, ALICE.id, /Started a new conversation/));
    t.fake.userSays({ chat: dm, from: ALICE, text: 'after reset' });
    await until('turn 1 again', () => replyMatching(t.fake, ALICE.id, /turn 1: you said "after reset"/));
    // The model never saw a command.
    expect(t.fake.messages(ALICE.id).filter((m) => /\[echo\]/.test(m.visible))).toHaveLength(2);
    await stopCli(cli);
  });
});

describe('bot telegram: groups', () => {
  it('mention_only (default): answers @mentions, replies to the bot and commands for it; ignores the rest', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }));
    const cli = await startTelegram(t.sb);
    const ignored = t.fake.userSays({ chat: GROUP, from: BOB, text: 'just chatting among humans' });
    const ignoredCmd = t.fake.userSays({ chat: GROUP, from: BOB, text: '/help@other_bot' });
    t.fake.userSays({ chat: GROUP, from: BOB, text: '@test_bot what is up?', message_id: 50 });
    const answer = await until('mention answer', () => replyMatching(t.fake, GROUP.id, /turn 1: you said "what is up\?"/));
    // In a group the answer quotes the question.
    expect(answer.replyTo).toBe(50);
    t.fake.userSays({ chat: GROUP, from: BOB, text: 'and then?', reply_to_bot_message_id: answer.messageId });
    await until('reply-to-bot answer', () => replyMatching(t.fake, GROUP.id, /turn 2: you said "and then\?"/));
    t.fake.userSays({ chat: GROUP, from: BOB, text: '/help@test_bot' });
    await until('help', () => replyMatching(t.fake, GROUP.id, /^Commands:/));
    t.fake.userSays({ chat: GROUP, from: BOB, text: 'last words @test_bot' });
    await until('turn 3', () => replyMatching(t.fake, GROUP.id, /turn 3: you said "last words"/));
    // Exactly three model answers and one help text: nothing for the ignored messages.
    const texts = t.fake.messages(GROUP.id).map((m) => m.visible);
    expect(texts.filter((x) => x.startsWith('[echo]'))).toHaveLength(3);
    expect(texts.filter((x) => x.startsWith('Commands:'))).toHaveLength(1);
    expect(texts.join('\n')).not.toContain('just chatting');
    expect(ignored).toBeLessThan(ignoredCmd);
    await stopCli(cli);
  });

  it('respond_all answers everything; command_only only commands', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, entry: { group_policy: 'respond_all' } }));
    let cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: GROUP, from: BOB, text: 'no mention here' });
    await until('respond_all answer', () => replyMatching(t.fake, GROUP.id, /you said "no mention here"/));
    await stopCli(cli);

    const OTHER = { ...GROUP, id: -100_999 };
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, entry: { group_policy: 'command_only' } }));
    cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: OTHER, from: BOB, text: '@test_bot a mention is not enough' });
    t.fake.userSays({ chat: OTHER, from: BOB, text: '/status' });
    await until('status', () => replyMatching(t.fake, OTHER.id, /^Session: /));
    await sleep(500);
    expect(t.fake.messages(OTHER.id).map((m) => m.visible)).toHaveLength(1);
    await stopCli(cli);
  });

  it('forum topics with forum_topics: per_thread are separate sessions; replies go to their topic', async () => {
    const FORUM = { id: -100_555, type: 'supergroup' as const, title: 'Forum', is_forum: true };
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, entry: { forum_topics: 'per_thread', group_policy: 'respond_all' } }));
    const cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: FORUM, from: BOB, text: 'topic A one', message_thread_id: 11 });
    await until('A1', () => replyMatching(t.fake, FORUM.id, /turn 1: you said "topic A one"/));
    t.fake.userSays({ chat: FORUM, from: BOB, text: 'topic B one', message_thread_id: 22 });
    const b1 = await until('B1', () => replyMatching(t.fake, FORUM.id, /turn 1: you said "topic B one"/));
    t.fake.userSays({ chat: FORUM, from: BOB, text: 'topic A two', message_thread_id: 11 });
    const a2 = await until('A2', () => replyMatching(t.fake, FORUM.id, /turn 2: you said "topic A two"/));
    expect(b1.threadId).toBe(22);
    expect(a2.threadId).toBe(11);
    t.fake.userSays({ chat: FORUM, from: BOB, text: '/status', message_thread_id: 22 });
    const status = await until('status', () => replyMatching(t.fake, FORUM.id, /^Session: /));
    expect(status.visible).toContain('Session: bot_telegram_chat_-100555_thread_22');
    expect(status.threadId).toBe(22);
    await stopCli(cli);
  });

  it('allowed_users + unknown_user_policy deny: others are refused in DMs and ignored in groups', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, entry: { unknown_user_policy: 'deny', allowed_users: 'alice', group_policy: 'respond_all' } }));
    const cli = await startTelegram(t.sb);
    t.fake.userSays({ chat: { id: BOB.id, type: 'private' }, from: BOB, text: 'let me in' });
    await until('refusal', () => replyMatching(t.fake, BOB.id, /only talks to people its operator has allowed/));
    t.fake.userSays({ chat: GROUP, from: BOB, text: 'bob in group' });
    t.fake.userSays({ chat: dm, from: ALICE, text: 'alice here' });
    await until('alice answered', () => replyMatching(t.fake, ALICE.id, /you said "alice here"/));
    t.fake.userSays({ chat: GROUP, from: ALICE, text: 'alice in group' });
    await until('alice in group', () => replyMatching(t.fake, GROUP.id, /you said "alice in group"/));
    expect(t.fake.messages(GROUP.id)).toHaveLength(1);
    expect(t.fake.messages(BOB.id)).toHaveLength(1);
    await stopCli(cli);
  });
});
