/**
 * Channels, threads and slash commands through a spawned `bot slack` (Socket Mode here; HTTP is
 * covered elsewhere): a mention is answered in its thread, a follow-up in that thread needs no
 * mention, `threads: per_thread` gives each thread its own session, a message without a mention
 * outside the bot's threads is ignored, and `/status` and `/new` are acknowledged at once and
 * answered through `response_url`; also that `bot start` runs the Slack entry.
 */
import { describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../../src/sessions/file-session-store.js';
import { FAKE_SLACK } from '../../helpers/fake-slack-server.js';
import { startCli } from '../../helpers/run-cli.js';
import { echoReplies, sleep, SLACK_ENV, slackYaml, startSlack, stopCli, until, useSlack, writeConfig } from './harness.js';

const t = useSlack();
const mention = `<@${FAKE_SLACK.botUserId}>`;

describe('bot slack: threads and slash commands', () => {
  it('answers in threads, follows up without a mention, keeps per-thread sessions', async () => {
    const { fake, sb } = t;
    const config = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'socket', entry: { threads: 'per_thread' } }));
    const cli = await startSlack(sb, ['--config', config]);
    const send = async (body: Record<string, any>) => expect(await fake.socket.waitAck(fake.socket.send(body))).toEqual({});

    const a = fake.userSays({ user: 'UDORA001', channel: 'CPROJECT', text: `${mention} thread A starts` });
    const b = fake.userSays({ user: 'UDORA001', channel: 'CPROJECT', text: `${mention} thread B starts` });
    await Promise.all([send(a.message), send(a.mention!), send(b.message), send(b.mention!)]);
    const inThread = (ts: string) => echoReplies(fake, 'CPROJECT').filter((m) => m.thread_ts === ts);
    await until('both thread replies', () => inThread(a.ts).length === 1 && inThread(b.ts).length === 1, 15_000, () => cli.stderr());
    expect(inThread(a.ts)[0]!.text).toBe('[echo] turn 1: you said "thread A starts"');

    // A follow-up in thread A without a mention: answered there, in thread A's own session.
    await send(fake.userSays({ user: 'UDORA001', channel: 'CPROJECT', text: 'more on A', thread_ts: a.ts }).message);
    await until('the follow-up reply', () => inThread(a.ts).length === 2);
    expect(inThread(a.ts)[1]!.text).toBe('[echo] turn 2: you said "more on A" I remember 1 earlier message(s) from you; the first was "thread A starts".');
    // Chatter outside the bot's threads, without a mention: ignored.
    await send(fake.userSays({ user: 'UDORA001', channel: 'CPROJECT', text: 'lunch anyone?' }).message);
    await sleep(800);
    expect(echoReplies(fake, 'CPROJECT')).toHaveLength(3);
    expect(fake.reactions('CPROJECT', a.ts)).toEqual([]);

    const store = new FileSessionStore({ dir: sb.sessionsDir });
    expect(await store.getChatHistory(`bot_slack_chat_CPROJECT_thread_${a.ts}`)).toHaveLength(4);
    expect(await store.getChatHistory(`bot_slack_chat_CPROJECT_thread_${b.ts}`)).toHaveLength(2);
    await stopCli(cli);
  }, 60_000);

  it('slash commands are acknowledged at once and answered through response_url', async () => {
    const { fake, sb } = t;
    const config = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'socket' }));
    const cli = await startSlack(sb, ['--config', config]);
    const said = fake.userSays({ user: 'UERIN001', channel: 'DERIN001', text: 'remember me' });
    await fake.socket.waitAck(fake.socket.send(said.message));
    await until('the first reply', () => echoReplies(fake, 'DERIN001').length === 1);

    const command = async (name: string) => {
      const body = fake.command({ user: 'UERIN001', channel: 'DERIN001', command: name });
      const sent = Date.now();
      const id = fake.socket.send(body, 'slash_commands');
      expect(await fake.socket.waitAck(id)).toBeDefined();
      expect(Date.now() - sent).toBeLessThan(1000);
      const key = body.response_url!.split('/').pop()!;
      return until(`the ${name} answer`, () => fake.responses.get(key)?.[0], 10_000, () => cli.stderr());
    };
    const status = await command('/status');
    expect(status.response_type).toBe('ephemeral');
    expect(status.text).toContain('bot_slack_UERIN001');
    const fresh = await command('/new');
    expect(fresh.response_type).toBe('ephemeral');
    const after = fake.userSays({ user: 'UERIN001', channel: 'DERIN001', text: 'who am I?' });
    await fake.socket.waitAck(fake.socket.send(after.message));
    const replies = await until('the reply after /new', () => echoReplies(fake, 'DERIN001').length === 2 && echoReplies(fake, 'DERIN001'));
    expect(replies[1]!.text).toBe('[echo] turn 1: you said "who am I?"');
    expect(fake.botMessages('DERIN001').filter((m) => !/^\[echo\]/.test(m.text))).toEqual([]);
    await stopCli(cli);
  }, 60_000);

  it('`bot start` runs the Slack entry of bots.yaml', async () => {
    const { fake, sb } = t;
    // bot start takes credentials from the entry (here interpolated from the environment).
    const config = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'socket', entry: { token: '${SLACK_BOT_TOKEN}', app_token: '${SLACK_APP_TOKEN}' } }));
    const cli = startCli(sb, ['--config', config, 'start'], { env: { ...SLACK_ENV }, timeoutMs: 60_000 });
    await until('a socket mode connection', () => fake.socket.open === 1, 20_000, () => cli.stderr());
    const said = fake.userSays({ user: 'UFRED001', channel: 'DFRED001', text: 'via bot start' });
    await fake.socket.waitAck(fake.socket.send(said.message));
    await until('the reply', () => echoReplies(fake, 'DFRED001').length === 1, 15_000, () => cli.stderr());
    cli.proc.kill('SIGTERM');
    expect((await cli.exited(20_000)).code).toBe(0);
  }, 60_000);
});
