/**
 * Exactly once through spawned `bot slack` processes (HTTP events): forged, stale and tampered
 * requests are refused (401) and nothing runs (T22); a Slack retry and a message delivered as
 * both `message` and `app_mention` make one turn and one reply — also when the retry reaches a
 * restarted process, and when the two deliveries reach two different processes (T36, T20).
 */
import { describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../../src/sessions/file-session-store.js';
import { FAKE_SLACK } from '../../helpers/fake-slack-server.js';
import { assertNoSecrets, echoReplies, freePort, sleep, slackYaml, startSlack, stopCli, until, useSlack, writeConfig } from './harness.js';

const t = useSlack();
const mention = `<@${FAKE_SLACK.botUserId}>`;

async function httpBot(port: number, name = 'bots.yaml') {
  const config = await writeConfig(t.sb, slackYaml({ apiUrl: t.fake.apiUrl, mode: 'http', port }), name);
  return { cli: await startSlack(t.sb, ['--config', config]), target: `http://127.0.0.1:${port}/slack/events` };
}

describe('bot slack: exactly once', () => {
  it('refuses forged, stale and tampered requests (401) and runs nothing', async () => {
    const { fake, sb } = t;
    const { cli, target } = await httpBot(await freePort());
    const said = fake.userSays({ user: 'UEVE0001', channel: 'DEVE0001', text: 'let me in' });
    expect((await fake.deliver(target, said.message, { signature: 'forged' })).map((a) => a.status)).toEqual([401]);
    expect((await fake.deliver(target, said.message, { signature: 'stale' })).map((a) => a.status)).toEqual([401]);
    expect((await fake.deliver(target, said.message, { tamper: (b) => b.replace('let me in', 'let me in!') })).map((a) => a.status)).toEqual([401]);
    await sleep(1000);
    expect(fake.botMessages()).toHaveLength(0);
    expect(await new FileSessionStore({ dir: sb.sessionsDir }).sessionExists('bot_slack_UEVE0001')).toBe(false);
    assertNoSecrets(await stopCli(cli));
  });

  it('a retry and a message + app_mention pair make one reply, also after a restart', async () => {
    const { fake, sb } = t;
    const port = await freePort();
    let { cli, target } = await httpBot(port);
    // A DM and its Slack retry (X-Slack-Retry-Num: 1), delivered twice more concurrently.
    const dm = fake.userSays({ user: 'UALICE01', channel: 'DALICE01', text: 'once please' });
    const first = await Promise.all([fake.deliver(target, dm.message), fake.deliver(target, dm.message, { retryNum: 1 }), fake.deliver(target, dm.message, { retryNum: 2 })]);
    expect(first.map((a) => a[0]!.status)).toEqual([200, 200, 200]);
    // A channel mention: the same message as `message` and as `app_mention`, at once.
    const ch = fake.userSays({ user: 'UBOBBY02', channel: 'CGENERAL', text: `${mention} one answer` });
    const pair = await Promise.all([fake.deliver(target, ch.message), fake.deliver(target, ch.mention!)]);
    expect(pair.map((a) => a[0]!.status)).toEqual([200, 200]);
    await until('both replies', () => echoReplies(fake, 'DALICE01').length >= 1 && echoReplies(fake, 'CGENERAL').length >= 1, 15_000, () => cli.stderr());
    await sleep(800);
    expect(echoReplies(fake, 'DALICE01')).toHaveLength(1);
    expect(echoReplies(fake, 'CGENERAL')).toHaveLength(1);
    expect(echoReplies(fake, 'CGENERAL')[0]!.thread_ts).toBe(ch.ts);

    // SIGKILL, restart, and Slack retries both events once more (it never saw an answer, say).
    cli.proc.kill('SIGKILL');
    await cli.exited();
    ({ cli, target } = await httpBot(port));
    const again = await Promise.all([fake.deliver(target, dm.message, { retryNum: 3 }), fake.deliver(target, ch.mention!, { retryNum: 1 })]);
    expect(again.map((a) => a[0]!.status)).toEqual([200, 200]);
    await sleep(1500);
    expect(echoReplies(fake, 'DALICE01')).toHaveLength(1);
    expect(echoReplies(fake, 'CGENERAL')).toHaveLength(1);
    const store = new FileSessionStore({ dir: sb.sessionsDir });
    expect(await store.getChatHistory('bot_slack_UALICE01')).toHaveLength(2);
    expect(await store.getChatHistory('bot_slack_UBOBBY02')).toHaveLength(2);
    // The next message is turn 2: the retries added nothing to the session.
    const next = fake.userSays({ user: 'UALICE01', channel: 'DALICE01', text: 'and now?' });
    await fake.deliver(target, next.message);
    const replies = await until('turn 2', () => echoReplies(fake, 'DALICE01').length === 2 && echoReplies(fake, 'DALICE01'));
    expect(replies[1]!.text).toMatch(/^\[echo\] turn 2: you said "and now\?"/);
    await stopCli(cli);
  }, 60_000);

  it('the two deliveries of one mention reaching two processes make one reply', async () => {
    const { fake } = t;
    const a = await httpBot(await freePort(), 'a.yaml');
    const b = await httpBot(await freePort(), 'b.yaml');
    for (let i = 0; i < 3; i++) {
      const ch = fake.userSays({ user: `UCAROL0${i}`, channel: 'CTEAM001', text: `${mention} question ${i}` });
      const res = await Promise.all([fake.deliver(a.target, ch.message), fake.deliver(b.target, ch.mention!)]);
      expect(res.map((r) => r[0]!.status)).toEqual([200, 200]);
    }
    await until('three replies', () => echoReplies(fake, 'CTEAM001').length >= 3, 15_000, () => a.cli.stderr() + b.cli.stderr());
    await sleep(1500);
    const replies = echoReplies(fake, 'CTEAM001');
    expect(replies.map((r) => r.thread_ts).sort()).toEqual([...new Set(replies.map((r) => r.thread_ts))].sort());
    expect(replies).toHaveLength(3);
    await Promise.all([stopCli(a.cli), stopCli(b.cli)]);
  }, 60_000);
});
