/**
 * HTTP mode in process: the real bolt App with the adapter's receiver, events signed and
 * delivered by the fake Slack, a literal AdapterHost. Proves signature checks (forged, stale,
 * tampered → 401, nothing ingested; T22), url_verification, ack only after ingest (and 503 on
 * `retry`, then Slack's retry is accepted once; T21), one message id for `message` + `app_mention`,
 * slash commands acknowledged at once, thread addressing and per_thread scope.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlatformAdapter } from '../../../src/core/adapter.js';
import { decodeAddress } from '../../../adapters/slack/address.js';
import { createSlackAdapter, SlackAdapterConfig } from '../../../adapters/slack/index.js';
import { slackSignature } from '../../../adapters/slack/verify.js';
import { FAKE_SLACK, startFakeSlack, type FakeSlack } from '../../helpers/fake-slack-server.js';
import { makeTestHost, type TestHost } from '../../helpers/slack-test-host.js';

let fake: FakeSlack;
let host: TestHost;
let adapter: PlatformAdapter;
let target: string;

async function startAdapter(extra: Record<string, unknown> = {}) {
  const config = SlackAdapterConfig.parse({
    platform: 'slack',
    id: 'slack-test',
    agent: 'default',
    enabled: true,
    token: FAKE_SLACK.botToken,
    signing_secret: FAKE_SLACK.signingSecret,
    allowed_users: [],
    unknown_user_policy: 'allow',
    group_policy: 'mention_only',
    api_url: fake.apiUrl,
    http: { port: 0 },
    ...extra,
  });
  adapter = await createSlackAdapter(config, host);
  await adapter.start();
  const line = host.lines.find((l) => l.includes('slack events endpoint ready'))!;
  target = `http://${/"listen":"([^"]+)"/.exec(line)![1]}`;
}

beforeEach(async () => {
  fake = await startFakeSlack();
  host = makeTestHost();
});

afterEach(async () => {
  await adapter?.stop();
  await fake.close();
});

describe('slack http mode', () => {
  it('answers url_verification and refuses forged, stale and tampered requests with 401', async () => {
    await startAdapter();
    const challenge = await fetch(target, { method: 'POST', headers: signedHeaders(JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' })), body: JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' }) });
    expect(challenge.status).toBe(200);
    expect(await challenge.json()).toEqual({ challenge: 'abc123' });
    const { message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'hello' });
    expect((await fake.deliver(target, message, { signature: 'forged' })).map((a) => a.status)).toEqual([401]);
    expect((await fake.deliver(target, message, { signature: 'stale' })).map((a) => a.status)).toEqual([401]);
    expect((await fake.deliver(target, message, { tamper: (b) => b.replace('hello', 'hellO') })).map((a) => a.status)).toEqual([401]);
    expect(host.ingested).toHaveLength(0);
    expect(host.lines.some((l) => l.includes('signature check failed'))).toBe(true);
    expect(host.lines.join('\n')).not.toContain(FAKE_SLACK.signingSecret);
    expect(host.lines.join('\n')).not.toContain(FAKE_SLACK.botToken);
  });

  it('acknowledges a DM only after ingest resolved, with the message normalized', async () => {
    await startAdapter();
    host.delayMs = 300;
    const { ts, message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'hi &amp; <https://example.com|there>' });
    const attempts = await fake.deliver(target, message);
    expect(attempts.map((a) => a.status)).toEqual([200]);
    expect(attempts[0]!.ms).toBeGreaterThanOrEqual(290);
    expect(host.ingested).toHaveLength(1);
    const m = host.ingested[0]!.message;
    expect(m).toMatchObject({ platform: 'slack', botId: 'slack-test', chatId: 'DALICE', userId: 'UALICE', messageId: `DALICE:${ts}`, isDirect: true, text: 'hi & there (https://example.com)' });
    expect(m.threadId).toBeUndefined();
    expect(decodeAddress(m.address!)).toEqual({ team: FAKE_SLACK.teamId, channel: 'DALICE', messageTs: ts });
  });

  it('answers 503 while the queue refuses, and Slack\'s retry (X-Slack-Retry-Num) is then accepted once', async () => {
    await startAdapter();
    host.script = ['retry'];
    const { message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'are you there?' });
    const attempts = await fake.deliver(target, message);
    expect(attempts.map((a) => [a.status, a.retryNum])).toEqual([
      [503, 0],
      [200, 1],
    ]);
    expect(host.ingested.map((i) => i.outcome)).toEqual(['retry', 'enqueued']);
    // A later retry of the same event (Slack did not see the 200) is a duplicate, still acknowledged.
    expect((await fake.deliver(target, message, { retryNum: 2 })).map((a) => a.status)).toEqual([200]);
    expect(host.ingested.map((i) => i.outcome)).toEqual(['retry', 'enqueued', 'duplicate']);
  });

  it('takes a channel mention once (its `message` twin is left to `app_mention`); replies go into its thread', async () => {
    await startAdapter({ threads: 'per_thread' });
    const said = fake.userSays({ user: 'UBOB', channel: 'CGENERAL', text: `<@${FAKE_SLACK.botUserId}> what is 2+2?` });
    const [a, b] = await Promise.all([fake.deliver(target, said.message), fake.deliver(target, said.mention!)]);
    expect([a![0]!.status, b![0]!.status]).toEqual([200, 200]);
    expect(host.ingested.map((i) => [i.message.messageId, i.outcome])).toEqual([[`CGENERAL:${said.ts}`, 'enqueued']]);
    const m = host.ingested[0]!.message;
    expect(m).toMatchObject({ isDirect: false, mentionsBot: true, text: 'what is 2+2?', threadId: said.ts });
    expect(host.ingested[0]!.options).toEqual({ scope: 'per_thread' });
    expect(decodeAddress(m.address!).threadTs).toBe(said.ts);
  });

  it('marks a follow-up in a thread the bot answered in as addressed to the bot', async () => {
    await startAdapter();
    const root = fake.userSays({ user: 'UBOB', channel: 'CGENERAL', text: `<@${FAKE_SLACK.botUserId}> start` });
    await fake.deliver(target, root.mention!);
    await adapter.outbound.send(host.ingested[0]!.message.address!, { text: 'answer', plain: 'answer', formatted: true }, { idempotencyKey: 'k1', index: 0 });
    const follow = fake.userSays({ user: 'UBOB', channel: 'CGENERAL', text: 'and then?', thread_ts: root.ts });
    await fake.deliver(target, follow.message);
    const other = fake.userSays({ user: 'UBOB', channel: 'CGENERAL', text: 'unrelated', thread_ts: fake.nextTs() });
    await fake.deliver(target, other.message);
    const [, f, o] = host.ingested.map((i) => i.message);
    expect(f).toMatchObject({ mentionsBot: false, replyTo: { messageId: `CGENERAL:${root.ts}`, isBot: true }, threadId: root.ts });
    expect(o!.replyTo?.isBot).toBe(false);
  });

  it('acknowledges a slash command at once even while ingest is slow', async () => {
    await startAdapter();
    host.delayMs = 1500;
    const cmd = fake.command({ user: 'UALICE', channel: 'DALICE', command: '/status' });
    const attempts = await fake.deliver(target, cmd, { retries: false });
    expect(attempts[0]!.status).toBe(200);
    expect(attempts[0]!.ms).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 1700));
    expect(host.ingested[0]!.message).toMatchObject({ text: '/status', userId: 'UALICE', isDirect: true, messageId: `command:${cmd.trigger_id}` });
    expect(decodeAddress(host.ingested[0]!.message.address!).responseUrl).toBe(cmd.response_url);
  });

  it('ignores channels outside allowed_channels and the bot\'s own messages', async () => {
    await startAdapter({ allowed_channels: ['CALLOWED'] });
    const outside = fake.userSays({ user: 'UBOB', channel: 'COTHER', text: `<@${FAKE_SLACK.botUserId}> hi` });
    expect((await fake.deliver(target, outside.mention!)).map((a) => a.status)).toEqual([200]);
    const own = fake.envelope({ type: 'message', channel: 'DALICE', channel_type: 'im', user: FAKE_SLACK.botUserId, bot_id: FAKE_SLACK.botId, text: 'mine', ts: fake.nextTs() });
    expect((await fake.deliver(target, own)).map((a) => a.status)).toEqual([200]);
    expect(host.ingested).toHaveLength(0);
  });
});

function signedHeaders(body: string): Record<string, string> {
  const ts = Math.floor(Date.now() / 1000);
  return { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(FAKE_SLACK.signingSecret, ts, body) };
}
