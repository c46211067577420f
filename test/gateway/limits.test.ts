/** T29 limits: frame size, per-identity rate limit, slow consumers, connection count, frame floods (slow consumers and max_connections are also T35). */
import { describe, expect, it } from 'vitest';
import { startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const yaml = (limits: string, extra = '') => `
agents: { assistant: { model: echo } }
store: { backend: memory }
gateway:
  allow_loopback_without_auth: true
  auth: { tokens: { flooder: "flood-TEST-FAKE", calm: "calm-TEST-FAKE" } }
  session: { persist: false }
  limits: { ${limits} }
${extra}`;
const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('gateway limits (T29)', () => {
  it('an oversized frame closes that connection with 1009 before it is read; others are unaffected', async () => {
    const g = await startGateway(yaml('max_frame_bytes: 4096'));
    const ok = await TestClient.open(g.ws);
    await ok.join({ session_id: 'ok' });
    const big = await TestClient.open(g.ws);
    big.send({ type: 'message', content: 'x'.repeat(5 * 1024 * 1024) });
    expect(await big.closed).toMatchObject({ code: 1009 });
    expect((await ok.ask('fine?', 'f1')).content).toContain('turn 1');
  });

  it('one flooding identity is rate-limited with retry_after_ms; another identity keeps its normal latency', async () => {
    const g = await startGateway(yaml('messages_per_minute: 60, burst: 3'));
    const flooder = await TestClient.open(g.ws, as('flood-TEST-FAKE'));
    await flooder.join({ session_id: 'f' });
    const calm = await TestClient.open(g.ws, as('calm-TEST-FAKE'));
    await calm.join({ session_id: 'c' });
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) flooder.send({ type: 'message', content: `spam ${i}`, id: `s${i}` });
    const r = await calm.ask('hello', 'c1');
    const calmMs = Date.now() - t0;
    expect(r.content).toContain('turn 1');
    await flooder.next((f) => f.type === 'error' && f.code === 'rate_limited');
    await sleep(300);
    const limited = flooder.frames.filter((f) => f.code === 'rate_limited');
    const accepted = flooder.frames.filter((f) => f.type === 'accepted');
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    expect(accepted.length).toBeLessThanOrEqual(4);
    expect(limited.length).toBe(40 - accepted.length);
    expect(limited[0]!.retry_after_ms).toBeGreaterThan(0);
    expect(limited.every((f) => /^s\d+$/.test(f.reply_to))).toBe(true); // which message to resend
    // Behavioural bound, generous for a loaded CI machine: the calm user was not queued behind 40 turns.
    expect(calmMs).toBeLessThan(3_000);
    expect(flooder.ws.readyState).toBe(flooder.ws.OPEN);
  });

  it('a client that stops reading is cut off once max_buffered_bytes pile up; the writer and the server carry on', async () => {
    const g = await startGateway(yaml('max_buffered_bytes: 65536, max_frame_bytes: 1048576, max_message_chars: 300000, messages_per_minute: 100000, burst: 100000, max_pending: 1000'));
    const reader = await TestClient.open(g.ws);
    await reader.join({ session_id: 'slow', stream: true });
    const writer = await TestClient.open(g.ws);
    await writer.join({ session_id: 'slow' });
    (reader.ws as any)._socket.pause(); // stops reading: the kernel buffers fill, then the server's
    const chunk = 'z'.repeat(250_000);
    for (let i = 0; i < 200 && g.gateway.connections > 1; i++) {
      writer.send({ type: 'message', content: `${i} ${chunk}`, id: `w${i}` });
      await writer.next((f) => f.type === 'response' && f.reply_to === `w${i}`, { timeoutMs: 20_000 });
      await sleep(30); // a well-behaved writer (under the per-connection frame rate)
    }
    const deadline = Date.now() + 10_000;
    while (g.gateway.connections > 1 && Date.now() < deadline) await sleep(50);
    expect(g.gateway.connections).toBe(1);
    expect(writer.ws.readyState).toBe(writer.ws.OPEN);
    const from = writer.frames.length;
    writer.send({ type: 'ping' });
    await writer.next((f) => f.type === 'pong', { from });
    // The memory it held is bounded by the cut-off, not by what the session produced.
    expect(process.memoryUsage().rss).toBeLessThan(1024 * 1024 * 1024);
  }, 90_000);

  it('one identity cannot create sessions without bound (each is stored): rate_limited after the burst', async () => {
    const g = await startGateway(yaml(''));
    const answers: string[] = [];
    for (let i = 0; i < 205; i++) {
      const c = await TestClient.open(g.ws, as('flood-TEST-FAKE')); // one connection joins one session
      const f = await c.join({ session_id: `s${i}` });
      answers.push(f.type === 'joined' ? 'joined' : f.code);
      c.ws.terminate();
    }
    expect(answers.filter((a) => a === 'joined').length).toBeGreaterThanOrEqual(200);
    expect(answers.slice(-3)).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
    const other = await TestClient.open(g.ws, as('calm-TEST-FAKE'));
    expect(await other.join({ session_id: 'mine' })).toMatchObject({ type: 'joined' });
  });

  it('max_connections refuses the next upgrade with 503; a frame flood closes that connection (1008)', async () => {
    const g = await startGateway(yaml('max_connections: 3'));
    const open = await Promise.all([0, 1, 2].map(() => TestClient.open(g.ws)));
    await expect(TestClient.open(g.ws)).rejects.toThrow(/503/);
    open[0]!.close();
    await open[0]!.closed;
    await sleep(50);
    const again = await TestClient.open(g.ws);
    for (let i = 0; i < 500; i++) again.send({ type: 'ping' });
    expect(await again.closed).toMatchObject({ code: 1008 });
    const fine = await TestClient.open(g.ws);
    expect(await fine.join({ session_id: 'x' })).toMatchObject({ type: 'joined' });
  });
});
