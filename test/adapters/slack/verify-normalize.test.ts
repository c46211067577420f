/**
 * Signature verification (T22; agreeing with bolt's own `isValidSlackRequest` on the same inputs,
 * including the ±300 s edges), and event normalization: ids, DMs vs channels, mentions,
 * thread addressing, ignored subtypes, Slack markup decoding, slash commands.
 */
import { isValidSlackRequest } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { decodeAddress } from '../../../adapters/slack/address.js';
import { decodeSlackText, normalizeCommand, normalizeEvent, type SlackEventBody } from '../../../adapters/slack/normalize.js';
import { slackSignature, verifySlackSignature } from '../../../adapters/slack/verify.js';

const SECRET = 'verify-test-secret-4d1f';
const NOW = 1_765_000_000_000;
const body = JSON.stringify({ type: 'event_callback', event: { type: 'message', text: 'hé' } });

describe('verifySlackSignature', () => {
  // bolt only refuses old timestamps; a request "signed" more than 5 min in the future is refused
  // here as well (a clock-skewed or pre-signed replay), so that case differs from bolt on purpose.
  const cases: Array<[string, { ts: number; sig?: string; body?: string; secret?: string; bolt?: boolean }, boolean]> = [
    ['valid', { ts: NOW / 1000 }, true],
    ['valid at +300 s', { ts: NOW / 1000 + 300 }, true],
    ['valid at -300 s', { ts: NOW / 1000 - 300 }, true],
    ['stale at -301 s', { ts: NOW / 1000 - 301 }, false],
    ['future at +301 s', { ts: NOW / 1000 + 301, bolt: true }, false],
    ['body changed by one byte', { ts: NOW / 1000, body: body.replace('hé', 'hè') }, false],
    ['wrong secret', { ts: NOW / 1000, secret: 'another-secret' }, false],
    ['not v0', { ts: NOW / 1000, sig: 'v1=abc' }, false],
  ];
  for (const [name, c, expected] of cases) {
    it(`${name} → ${expected ? 'accepted' : 'refused'}${c.bolt === undefined ? ', as bolt decides' : ''}`, () => {
      const signature = c.sig ?? slackSignature(c.secret ?? SECRET, c.ts, body);
      const sent = c.body ?? body;
      const ours = verifySlackSignature({ signingSecret: SECRET, body: sent, signature, timestamp: String(c.ts), now: NOW });
      expect(ours.ok).toBe(expected);
      expect(isValidSlackRequest({ signingSecret: SECRET, body: sent, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': c.ts }, nowMilliseconds: NOW })).toBe(c.bolt ?? expected);
    });
  }

  it('refuses missing or malformed headers', () => {
    expect(verifySlackSignature({ signingSecret: SECRET, body, signature: undefined, timestamp: '1', now: NOW })).toEqual({ ok: false, reason: 'missing headers' });
    expect(verifySlackSignature({ signingSecret: SECRET, body, signature: 'v0=00', timestamp: 'abc', now: NOW })).toEqual({ ok: false, reason: 'malformed timestamp' });
    expect(verifySlackSignature({ signingSecret: SECRET, body, signature: ['a', 'b'], timestamp: '1', now: NOW }).ok).toBe(false);
  });
});

const ctx = { botId: 'sb', botUserId: 'UBOT', replyInThread: true, now: () => 42 };
const ev = (event: Record<string, unknown>): SlackEventBody => ({ type: 'event_callback', team_id: 'T1', event: { type: 'message', user: 'U1', ts: '100.000200', ...event } as never });

describe('normalizeEvent', () => {
  it('a DM: per-user, no thread, id channel:ts', () => {
    const m = normalizeEvent(ev({ channel: 'D1', channel_type: 'im', text: 'hello' }), ctx)!;
    expect(m).toMatchObject({ platform: 'slack', botId: 'sb', chatId: 'D1', userId: 'U1', messageId: 'D1:100.000200', isDirect: true, mentionsBot: false, text: 'hello', receivedAt: 42 });
    expect(m.threadId).toBeUndefined();
    expect(decodeAddress(m.address!)).toEqual({ team: 'T1', channel: 'D1', messageTs: '100.000200' });
  });

  it('message and app_mention of one message normalize to the same message', () => {
    const text = '<@UBOT> hi';
    const a = normalizeEvent(ev({ channel: 'C1', channel_type: 'channel', text }), ctx)!;
    const b = normalizeEvent({ ...ev({ channel: 'C1', text }), event: { type: 'app_mention', user: 'U1', ts: '100.000200', channel: 'C1', text } }, ctx)!;
    expect(a).toEqual(b);
    expect(a).toMatchObject({ mentionsBot: true, text: 'hi', threadId: '100.000200', isDirect: false });
  });

  it('a reply in a thread goes to that thread; reply_in_thread: false keeps top-level replies top-level', () => {
    const inThread = normalizeEvent(ev({ channel: 'C1', channel_type: 'channel', text: 'more', thread_ts: '90.000100' }), { ...ctx, inBotThread: true })!;
    expect(inThread).toMatchObject({ threadId: '90.000100', replyTo: { messageId: 'C1:90.000100', isBot: true } });
    const top = normalizeEvent(ev({ channel: 'C1', channel_type: 'channel', text: '<@UBOT> x' }), { ...ctx, replyInThread: false })!;
    expect(top.threadId).toBeUndefined();
    expect(decodeAddress(top.address!).threadTs).toBeUndefined();
  });

  it('ignores bots, the bot itself, edits, joins and empty text', () => {
    expect(normalizeEvent(ev({ channel: 'D1', text: 'x', bot_id: 'B2' }), ctx)).toBeNull();
    expect(normalizeEvent(ev({ channel: 'D1', text: 'x', user: 'UBOT' }), ctx)).toBeNull();
    expect(normalizeEvent(ev({ channel: 'D1', text: 'x', subtype: 'message_changed' }), ctx)).toBeNull();
    expect(normalizeEvent(ev({ channel: 'C1', text: 'x', subtype: 'channel_join' }), ctx)).toBeNull();
    expect(normalizeEvent(ev({ channel: 'C1', text: '<@UBOT>' }), ctx)).toBeNull();
    expect(normalizeEvent(ev({ channel: 'D1', text: 'file', subtype: 'file_share', files: [{ name: 'a.png', mimetype: 'image/png' }] }), ctx)!.attachments).toEqual([{ kind: 'photo', name: 'a.png', mimeType: 'image/png' }]);
  });

  it('decodes Slack markup', () => {
    expect(decodeSlackText('a &lt;b&gt; &amp; <https://x.io|x> <https://y.io> <@U2> <#C3|general> <!here> <@UBOT>', 'UBOT')).toEqual({ text: 'a <b> & x (https://x.io) https://y.io @U2 #general @here ', mentioned: true });
  });
});

describe('normalizeCommand', () => {
  it('turns a slash command into its command text with a response_url address', () => {
    const m = normalizeCommand({ command: '/new', text: '', team_id: 'T1', channel_id: 'C1', channel_name: 'general', user_id: 'U1', user_name: 'al', response_url: 'https://hooks.slack.com/commands/1', trigger_id: 't.1' }, ctx)!;
    expect(m).toMatchObject({ text: '/new', messageId: 'command:t.1', isDirect: false, mentionsBot: true, userId: 'U1' });
    expect(decodeAddress(m.address!)).toEqual({ team: 'T1', channel: 'C1', responseUrl: 'https://hooks.slack.com/commands/1' });
    expect(normalizeCommand({ command: '/status', text: 'now', channel_id: 'D1', channel_name: 'directmessage', user_id: 'U1', trigger_id: 't.2' }, ctx)).toMatchObject({ text: '/status now', isDirect: true });
  });
});
