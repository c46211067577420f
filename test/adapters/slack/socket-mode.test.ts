/**
 * Socket Mode in process: bolt's own Socket Mode client against the fake's WebSocket. Proves the
 * envelope is acknowledged only after ingest resolved, an envelope refused with `retry` is left
 * unacknowledged and Slack's redelivery (retry_attempt 1) is then accepted once (T21), a `disconnect`
 * envelope and a silent socket both lead to a new connection, and a refused app token stops
 * start() with an AdapterFatalError instead of looping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdapterFatalError, type PlatformAdapter } from '../../../src/core/adapter.js';
import { createSlackAdapter, SlackAdapterConfig } from '../../../adapters/slack/index.js';
import { FAKE_SLACK, startFakeSlack, type FakeSlack } from '../../helpers/fake-slack-server.js';
import { makeTestHost, type TestHost } from '../../helpers/slack-test-host.js';
import { waitFor } from '../../helpers/wait-for.js';

let fake: FakeSlack;
let host: TestHost;
let adapter: PlatformAdapter | undefined;

function configOf(extra: Record<string, unknown> = {}) {
  return SlackAdapterConfig.parse({
    platform: 'slack',
    id: 'slack-socket',
    agent: 'default',
    enabled: true,
    token: FAKE_SLACK.botToken,
    app_token: FAKE_SLACK.appToken,
    allowed_users: [],
    unknown_user_policy: 'allow',
    group_policy: 'mention_only',
    api_url: fake.apiUrl,
    ...extra,
  });
}

beforeEach(async () => {
  fake = await startFakeSlack();
  host = makeTestHost();
});

afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  await fake.close();
});

describe('slack socket mode', () => {
  it('is chosen when only an app token is given, and acknowledges an envelope only after ingest', async () => {
    const config = configOf();
    expect(config.mode).toBeUndefined();
    adapter = await createSlackAdapter(config, host);
    await adapter.start();
    expect(fake.socket.open).toBe(1);
    expect(host.deliveries).toBe(1);
    host.delayMs = 400;
    const { ts, message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'hello over a socket' });
    const sent = Date.now();
    const id = fake.socket.send(message);
    const ack = await fake.socket.waitAck(id);
    expect(ack).toEqual({});
    expect(fake.socket.envelopes.get(id)!.ackedAt! - sent).toBeGreaterThanOrEqual(390);
    expect(host.ingested.map((i) => i.message.messageId)).toEqual([`DALICE:${ts}`]);
  });

  it('leaves a refused envelope unacknowledged; the redelivery is accepted once', async () => {
    adapter = await createSlackAdapter(configOf({ mode: 'socket' }), host);
    await adapter.start();
    fake.socket.ackDeadlineMs = 500;
    host.script = ['retry'];
    const { message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'queue down?' });
    const id = fake.socket.send(message);
    await fake.socket.waitAck(id, 5_000);
    const env = fake.socket.envelopes.get(id)!;
    expect(env.ackedAt).toBeDefined();
    expect(env.attempts).toBe(1);
    expect(host.ingested.map((i) => i.outcome)).toEqual(['retry', 'enqueued']);
  });

  it('opens a new connection when Slack sends disconnect (refresh_requested)', async () => {
    adapter = await createSlackAdapter(configOf(), host);
    await adapter.start();
    fake.socket.disconnect('refresh_requested');
    await fake.socket.waitAccepted(2, 10_000);
    await waitFor('one open connection', () => fake.socket.open === 1, { timeoutMs: 5_000 });
    const { message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'after refresh' });
    expect(await fake.socket.waitAck(fake.socket.send(message))).toEqual({});
    expect(host.ingested).toHaveLength(1);
  });

  it('notices a socket that went silent (no pongs, no pings) and reconnects', async () => {
    adapter = await createSlackAdapter(configOf({ client_ping_timeout_ms: 1_000, server_ping_timeout_ms: 4_000 }), host);
    await adapter.start();
    fake.socket.silence();
    await fake.socket.waitAccepted(2, 30_000);
    await waitFor('the second connection', () => fake.socket.open >= 1 && host.lines.some((l) => l.includes('slack socket mode connected') && l.includes('"connection":2')), { timeoutMs: 10_000 });
    const { message } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'still there?' });
    expect(await fake.socket.waitAck(fake.socket.send(message))).toEqual({});
  }, 45_000);

  it('stops with an AdapterFatalError when the app token is refused, without retrying', async () => {
    adapter = await createSlackAdapter(configOf({ app_token: 'xapp-1-not-the-right-token-000' }), host);
    await expect(adapter.start()).rejects.toBeInstanceOf(AdapterFatalError);
    expect(fake.callsOf('apps.connections.open')).toHaveLength(1);
    expect(host.lines.join('\n')).not.toContain('xapp-1-not-the-right-token-000');
  });

  it('stops with an AdapterFatalError when the bot token is refused', async () => {
    adapter = await createSlackAdapter(configOf({ token: 'xoxb-wrong-token-for-the-test' }), host);
    const err = await adapter.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterFatalError);
    expect((err as Error).message).toContain('invalid_auth');
    expect(fake.callsOf('auth.test')).toHaveLength(1);
    expect(fake.callsOf('apps.connections.open')).toHaveLength(0);
  });
});
