/**
 * The Slack Outbound with the real WebClient against the fake Web API: a post whose answer was
 * lost is not posted twice (the metadata lookup; T36), 429 waits Retry-After and posts once, edits of
 * a vanished message become a new message, refused channels drop (undefined), refused markup
 * raises FormattingRejectedError, the status reaction is added once and removed, slash-command
 * answers go to response_url, and a revoked token is fatal once (no further calls).
 */
import { webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdapterFatalError, FormattingRejectedError } from '../../../src/core/adapter.js';
import { encodeAddress } from '../../../adapters/slack/address.js';
import { SlackOutbound, postJson } from '../../../adapters/slack/outbound.js';
import { SlackApi } from '../../../adapters/slack/web-api.js';
import { FAKE_SLACK, startFakeSlack, type FakeSlack } from '../../helpers/fake-slack-server.js';

let fake: FakeSlack;
let lines: string[];
let fatals: Error[];
let rateLimited: number;

function outbound(timeoutMs = 2_000) {
  const client = new webApi.WebClient(FAKE_SLACK.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, timeout: timeoutMs });
  const logger = { debug: () => {}, info: (o: object, m?: string) => void lines.push(`info ${m} ${JSON.stringify(o)}`), warn: (o: object, m?: string) => void lines.push(`warn ${m} ${JSON.stringify(o)}`), error: (o: object, m?: string) => void lines.push(`error ${m} ${JSON.stringify(o)}`) };
  const api = new SlackApi({ client: client as never, logger, botId: 'b', onFatal: (e) => void fatals.push(e), onRateLimited: () => void rateLimited++ });
  return new SlackOutbound({ api, logger, statusEmoji: 'eyes', maxMessageLength: 3900, postResponse: postJson });
}

const chunk = (text: string) => ({ text, plain: text, formatted: true });
const dm = (messageTs?: string) => encodeAddress({ team: FAKE_SLACK.teamId, channel: 'DALICE', ...(messageTs ? { messageTs } : {}) });

beforeEach(async () => {
  fake = await startFakeSlack();
  lines = [];
  fatals = [];
  rateLimited = 0;
});
afterEach(() => fake.close());

describe('slack outbound', () => {
  it('posts in the thread with the idempotency key as metadata', async () => {
    const out = outbound();
    const address = encodeAddress({ team: FAKE_SLACK.teamId, channel: 'CGENERAL', threadTs: '1700000000.000100' });
    const ts = await out.send(address, chunk('*hi*'), { idempotencyKey: 'bot|C:1|0', index: 0 });
    const [m] = fake.botMessages('CGENERAL');
    expect(m).toMatchObject({ ts, text: '*hi*', thread_ts: '1700000000.000100', mrkdwn: true, metadata: { event_type: 'bothost_reply', event_payload: { key: 'bot|C:1|0' } } });
    expect(out.editScope(address)).toBe(FAKE_SLACK.teamId);
  });

  it('does not post twice when Slack took a post but its answer was lost (timeout)', async () => {
    const out = outbound(1_500);
    fake.failNext('chat.postMessage', { delayMs: 3_000 });
    const ts = await out.send(dm(), chunk('exactly once'), { idempotencyKey: 'bot|D:9|0', index: 0 });
    await new Promise((r) => setTimeout(r, 1_600));
    expect(fake.botMessages('DALICE')).toHaveLength(1);
    expect(ts).toBe(fake.botMessages('DALICE')[0]!.ts);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(1);
    expect(fake.callsOf('conversations.history')).toHaveLength(1);
    expect(lines.some((l) => l.includes('had gone through'))).toBe(true);
  });

  it('a suspect message (maybe answered by another process) is looked up first: no second reply', async () => {
    const [a, b] = [outbound(), outbound()];
    const said = fake.userSays({ user: 'UBOB', channel: 'CGENERAL', text: '<@UBOTFAKE1> hi' });
    const address = encodeAddress({ team: FAKE_SLACK.teamId, channel: 'CGENERAL', threadTs: said.ts, messageTs: said.ts });
    // Process A streamed the reply: a preview post (its own key); the final is B's to deliver.
    const ts = (await a.send(address, chunk('partial'), { idempotencyKey: `bot|CGENERAL:${said.ts}|preview|0`, index: 0, preview: true }))!;
    // Process B got the same message (the other of message/app_mention, or a retry) or the result.
    b.suspect(`CGENERAL:${said.ts}`);
    // B does not stream it (no preview post, no lookup), it only delivers the final reply.
    expect(await b.send(address, chunk('partial from b'), { idempotencyKey: `bot|CGENERAL:${said.ts}|preview|0`, index: 0, preview: true })).toBeUndefined();
    expect(fake.callsOf('conversations.replies')).toHaveLength(0);
    expect(await b.send(address, chunk('final'), { idempotencyKey: `bot|CGENERAL:${said.ts}|0`, index: 0 })).toBe(ts);
    expect(fake.botMessages('CGENERAL')).toHaveLength(1);
    expect(fake.botMessages('CGENERAL')[0]).toMatchObject({ text: 'final', edits: 1 });
    expect(fake.callsOf('conversations.replies')).toHaveLength(1);
    // A further chunk of that reply that A never posted is posted by B.
    await b.send(address, chunk('second part'), { idempotencyKey: `bot|CGENERAL:${said.ts}|1`, index: 1 });
    expect(fake.botMessages('CGENERAL').map((m) => m.text)).toEqual(['final', 'second part']);
  });

  it('a final reply to a message another ingress took completes that ingress\'s preview', async () => {
    const [a, b] = [outbound(), outbound()];
    const said = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'hi' });
    const address = dm(said.ts);
    a.ingestedHere(`DALICE:${said.ts}`);
    const ts = await a.send(address, chunk('[echo] turn'), { idempotencyKey: `bot|DALICE:${said.ts}|preview|0`, index: 0, preview: true });
    // B delivers the final from the outbox without having ingested the message.
    expect(await b.send(address, chunk('[echo] turn 1: you said "hi"'), { idempotencyKey: `bot|DALICE:${said.ts}|0`, index: 0 })).toBe(ts);
    expect(fake.botMessages('DALICE').map((m) => m.text)).toEqual(['[echo] turn 1: you said "hi"']);
    // A process delivering the final of a message it ingested itself makes no lookup.
    const other = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'again' });
    a.ingestedHere(`DALICE:${other.ts}`);
    const before = fake.callsOf('conversations.history').length;
    await a.send(dm(other.ts), chunk('second'), { idempotencyKey: `bot|DALICE:${other.ts}|0`, index: 0 });
    expect(fake.callsOf('conversations.history').length).toBe(before);
  });

  it('waits Retry-After on 429 and posts once', async () => {
    const out = outbound();
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const started = Date.now();
    await out.send(dm(), chunk('after the wait'), { idempotencyKey: 'k429', index: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(2);
    expect(fake.botMessages('DALICE')).toHaveLength(1);
    expect(lines.some((l) => l.includes('429'))).toBe(true);
    // Counted for bothost_platform_rate_limited_total.
    expect(rateLimited).toBe(1);
  });

  it('edits in place; a vanished message is posted anew; refused channels drop; refused markup is reported', async () => {
    const out = outbound();
    const ts = (await out.send(dm(), chunk('v1'), { idempotencyKey: 'e1', index: 0 }))!;
    expect(await out.edit(dm(), ts, chunk('v2'))).toBe(ts);
    expect(fake.botMessages('DALICE')[0]).toMatchObject({ text: 'v2', edits: 1 });
    const fresh = await out.edit(dm(), '1111111111.000001', chunk('v3'));
    expect(fresh).not.toBe('1111111111.000001');
    expect(fake.botMessages('DALICE').map((m) => m.text)).toEqual(['v2', 'v3']);
    const gone = encodeAddress({ team: FAKE_SLACK.teamId, channel: 'CGONE1' });
    expect(await out.send(gone, chunk('x'), { idempotencyKey: 'g', index: 0 })).toBeUndefined();
    expect(lines.some((l) => l.includes('channel_not_found'))).toBe(true);
    fake.failNext('chat.postMessage', { error: 'invalid_blocks' });
    await expect(out.send(dm(), chunk('y'), { idempotencyKey: 'f', index: 0 })).rejects.toBeInstanceOf(FormattingRejectedError);
  });

  it('shows the status reaction once per message and removes it', async () => {
    const out = outbound();
    const { ts } = fake.userSays({ user: 'UALICE', channel: 'DALICE', text: 'hi' });
    await out.typing(dm(ts));
    await out.typing(dm(ts));
    expect(fake.reactions('DALICE', ts)).toEqual(['eyes']);
    expect(fake.callsOf('reactions.add')).toHaveLength(1);
    await out.idle!(dm(ts));
    expect(fake.reactions('DALICE', ts)).toEqual([]);
  });

  it('answers slash commands through response_url, ephemerally', async () => {
    const out = outbound();
    const cmd = fake.command({ user: 'UALICE', channel: 'CGENERAL', command: '/help' });
    const address = encodeAddress({ team: FAKE_SLACK.teamId, channel: 'CGENERAL', responseUrl: cmd.response_url! });
    await out.send(address, chunk('Commands: /new /status /help'), { idempotencyKey: 'c', index: 0 });
    const id = cmd.response_url!.split('/').pop()!;
    expect(fake.responses.get(id)).toEqual([{ response_type: 'ephemeral', replace_original: false, text: 'Commands: /new /status /help', mrkdwn: true }]);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('treats a revoked token as fatal, once, and makes no further calls', async () => {
    const out = outbound();
    fake.revokeToken();
    await expect(out.send(dm(), chunk('x'), { idempotencyKey: 'r1', index: 0 })).rejects.toBeInstanceOf(AdapterFatalError);
    await expect(out.send(dm(), chunk('x'), { idempotencyKey: 'r2', index: 0 })).rejects.toBeInstanceOf(AdapterFatalError);
    expect(fatals).toHaveLength(1);
    expect(fatals[0]!.message).toContain('token_revoked');
    expect(fake.callsOf('chat.postMessage')).toHaveLength(1);
  });
});
