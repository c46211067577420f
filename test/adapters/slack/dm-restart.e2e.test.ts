/**
 * End to end through spawned `bot slack` processes (the real bolt inside) against the fake Slack:
 * two users in DMs over HTTP events, a restart into Socket Mode with the same file store, and
 * each user's session remembered across it (`bot_slack_<userId>` files, echo turn numbers).
 * Also: the status reaction comes and goes, and no secret appears in any output line.
 */
import { describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../../src/sessions/file-session-store.js';
import { assertNoSecrets, echoReplies, freePort, slackYaml, startSlack, stopCli, until, useSlack, writeConfig } from './harness.js';

const t = useSlack();

describe('bot slack: DMs across a restart (HTTP, then Socket Mode)', () => {
  it('two users keep their own sessions across the restart', async () => {
    const { fake, sb } = t;
    const port = await freePort();
    const target = `http://127.0.0.1:${port}/slack/events`;
    const httpConfig = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'http', port }), 'http.yaml');
    const first = await startSlack(sb, ['--config', httpConfig]);
    const users = [
      { user: 'UALICE01', channel: 'DALICE01' },
      { user: 'UBOBBY02', channel: 'DBOBBY02' },
    ];
    for (const u of users) {
      const said = fake.userSays({ ...u, text: `hello from ${u.user}` });
      expect((await fake.deliver(target, said.message)).map((a) => a.status)).toEqual([200]);
    }
    for (const u of users) {
      const [reply] = await until(`first reply to ${u.user}`, () => echoReplies(fake, u.channel).length === 1 && echoReplies(fake, u.channel), 15_000, () => first.stderr());
      expect(reply!.text).toBe(`[echo] turn 1: you said "hello from ${u.user}"`);
      expect(reply!.thread_ts).toBeUndefined();
    }
    // The :eyes: status was shown on each message and removed once the reply was done.
    await until('status reactions removed', () => fake.callsOf('reactions.remove').length === 2);
    expect(fake.callsOf('reactions.add').length).toBe(2);
    const firstOutput = await stopCli(first);
    const store = new FileSessionStore({ dir: sb.sessionsDir });
    for (const u of users) expect(await store.getChatHistory(`bot_slack_${u.user}`)).toHaveLength(2);

    const socketConfig = await writeConfig(sb, slackYaml({ apiUrl: fake.apiUrl, mode: 'socket' }), 'socket.yaml');
    const second = await startSlack(sb, ['--config', socketConfig]);
    expect(fake.socket.open).toBe(1);
    for (const u of users) {
      const said = fake.userSays({ ...u, text: `again from ${u.user}` });
      const id = fake.socket.send(said.message);
      expect(await fake.socket.waitAck(id)).toEqual({});
    }
    for (const u of users) {
      const replies = await until(`second reply to ${u.user}`, () => echoReplies(fake, u.channel).length === 2 && echoReplies(fake, u.channel), 15_000, () => second.stderr());
      expect(replies[1]!.text).toBe(`[echo] turn 2: you said "again from ${u.user}" I remember 1 earlier message(s) from you; the first was "hello from ${u.user}".`);
    }
    const secondOutput = await stopCli(second);
    for (const u of users) expect(await store.getChatHistory(`bot_slack_${u.user}`)).toHaveLength(4);
    assertNoSecrets(firstOutput + secondOutput);
  }, 60_000);
});
