/** The gateway's pure parts: frame parsing, token minting/verification, token buckets, event mapping, store routing. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createAuthenticator, mintToken } from '../../src/gateway/auth.js';
import { clientIdOf, inboundMessageId, toEvents } from '../../src/gateway/events.js';
import { parseClientFrame } from '../../src/gateway/frames.js';
import { routeWebSessions, webSessionKey } from '../../src/sessions/web-sessions.js';
import { TokenBucket } from '../../src/gateway/rate-limit.js';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';

const gatewayConfig = (yaml: string) => parseConfig(yaml, { env: {} }).config.gateway;

describe('gateway units', () => {
  it('frames: valid ones parse, invalid ones name the field and a code', () => {
    expect(parseClientFrame('{"type":"join","agent_id":"assistant","session_id":"abc-123","since":42}')).toMatchObject({ ok: true, frame: { since: 42 } });
    expect(parseClientFrame('{"type":"join","since":"42"}')).toMatchObject({ ok: false, code: 'bad_since', message: expect.stringContaining('since') });
    expect(parseClientFrame('{"type":"message"}')).toMatchObject({ ok: false, code: 'bad_frame', message: expect.stringContaining('content') });
    expect(parseClientFrame('{"type":"__proto__"}')).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(parseClientFrame('{')).toMatchObject({ ok: false, code: 'bad_frame' });
  });

  it('tokens: static and minted verify; expired, tampered, unsigned and reserved do not', () => {
    const secret = 'unit-secret-TEST-FAKE-000000';
    const auth = createAuthenticator(gatewayConfig(`gateway: { auth: { tokens: { alice: a-TEST-FAKE }, secret: ${secret} } }`), {});
    expect(auth.verify('a-TEST-FAKE')).toEqual({ ok: true, identity: 'alice' });
    const t = mintToken(secret, 'bob@example.com', 60);
    expect(auth.verify(t)).toEqual({ ok: true, identity: 'bob@example.com' });
    expect(auth.verify(mintToken(secret, 'bob', 60, Date.now() - 61_000))).toMatchObject({ ok: false, reason: expect.stringMatching(/expired/) });
    expect(auth.verify(`${t.slice(0, -2)}xx`)).toMatchObject({ ok: false });
    expect(auth.verify(t.replace(/\.\d+\./, '.99999999999.'))).toMatchObject({ ok: false });
    expect(() => mintToken(secret, 'local', 60)).toThrow(/reserved/);
    expect(() => mintToken(secret, 'has space', 60)).toThrow(/identity/);
    const noSecret = createAuthenticator(gatewayConfig('gateway: {}'), {});
    expect(noSecret.verify(t)).toMatchObject({ ok: false });
    const fromEnv = createAuthenticator(gatewayConfig('gateway: {}'), { BOTHOST_GATEWAY_SECRET: secret });
    expect(fromEnv.verify(t)).toMatchObject({ ok: true });
  });

  it('token bucket: burst, then one per interval, with the wait reported', () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(500);
    expect(b.take(500)).toBe(0);
  });

  it('events: a reply names the message it answers; ids survive the per-session namespacing', () => {
    const key = webSessionKey('s');
    const mid = inboundMessageId(key, 'm-1');
    expect(clientIdOf(mid)).toBe('m-1');
    expect(inboundMessageId(webSessionKey('t'), 'm-1')).not.toBe(mid);
    const events = toEvents([
      { cursor: 1, role: 'user', content: 'hi', ts: 1, metadata: { message_id: mid } },
      { cursor: 2, role: 'assistant', content: 'hello', ts: 2 },
      { cursor: 4, role: 'assistant', content: 'orphan', ts: 3 },
    ]);
    expect(events).toEqual([
      { type: 'message', role: 'user', content: 'hi', cursor: 1, ts: 1, id: 'm-1' },
      { type: 'response', role: 'assistant', content: 'hello', cursor: 2, ts: 2, reply_to: 'm-1' },
      { type: 'response', role: 'assistant', content: 'orphan', cursor: 4, ts: 3 },
    ]);
  });

  it('store routing: bot_web_ keys go to the gateway store, everything else to the host store', async () => {
    const host = new MemorySessionStore();
    const web = new MemorySessionStore();
    const routed = routeWebSessions(host, web);
    await routed.addMessage('bot_telegram_1', 'user', 'tg');
    await routed.addMessage(webSessionKey('x'), 'user', 'web');
    expect(await host.sessionExists('bot_telegram_1')).toBe(true);
    expect(await web.sessionExists('bot_web_x')).toBe(true);
    expect(await host.sessionExists('bot_web_x')).toBe(false);
    expect((await routed.listSessions()).map((s) => s.id).sort()).toEqual(['bot_telegram_1', 'bot_web_x']);
    expect(webSessionKey('a.b')).not.toBe(webSessionKey('a_b'));
  });
});
