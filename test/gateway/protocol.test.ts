/** The wire protocol with a real `ws` client: the seed's client, cursors, replay, bad frames (T26 included). */
import { describe, expect, it } from 'vitest';
import { BASE_YAML, startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

describe('gateway protocol', () => {
  it("a client written like the seed's example: join → joined → replay frames, every event with a monotonic cursor", async () => {
    const g = await startGateway(BASE_YAML);
    const a = await TestClient.open(g.ws); // no path, like ws://127.0.0.1:8765
    const joined = await a.join({ agent_id: 'assistant', session_id: 'abc-123', since: 0, stream: true });
    expect(joined).toMatchObject({ type: 'joined', session_id: 'abc-123', agent_id: 'assistant', resumed: false, cursor: 0 });
    const r1 = await a.ask('hi, my name is Ada', 'm1');
    expect(r1).toMatchObject({ type: 'response', cursor: 2, reply_to: 'm1' });
    expect(r1.content).toContain('turn 1');
    // Streamed while the model ran, then stream_end, then the response.
    const types = a.frames.map((f) => f.type);
    expect(types).toContain('stream');
    expect(types.indexOf('stream_end')).toBeLessThan(types.lastIndexOf('response'));
    expect(a.frames.find((f) => f.type === 'message')).toMatchObject({ role: 'user', content: 'hi, my name is Ada', cursor: 1, id: 'm1' });
    const streamed = a.frames.filter((f) => f.type === 'stream').map((f) => f.delta).join('');
    expect(streamed).toBe(r1.content);
    await a.ask('what is my name?', 'm2');
    a.close();

    const b = await TestClient.open(`${g.ws}/ws`);
    const resumed = await b.join({ agent_id: 'assistant', session_id: 'abc-123', since: 1 });
    expect(resumed).toMatchObject({ type: 'joined', resumed: true, cursor: 4 });
    await b.next((f) => f.type === 'replay' && f.event.cursor === 4);
    const replay = b.frames.filter((f) => f.type === 'replay');
    expect(replay.map((f) => f.event.cursor)).toEqual([2, 3, 4]);
    expect(replay.map((f) => f.event.type)).toEqual(['response', 'message', 'response']);
    expect(replay[2]!.event.content).toContain('Your name is Ada');
    // Live events continue after the replay with higher cursors, nothing repeated.
    await b.ask('and again', 'm3');
    expect(b.cursors()).toEqual([2, 3, 4, 5, 6]);
  });

  it('join without since: no replay, the current cursor; without session_id: a fresh id is chosen', async () => {
    const g = await startGateway(BASE_YAML);
    const a = await TestClient.open(g.ws);
    await a.join({ session_id: 's' });
    await a.ask('one', 'x1');
    const b = await TestClient.open(g.ws);
    expect(await b.join({ session_id: 's' })).toMatchObject({ resumed: true, cursor: 2 });
    await b.send({ type: 'ping' });
    await b.next((f) => f.type === 'pong');
    expect(b.frames.some((f) => f.type === 'replay')).toBe(false);
    const c = await TestClient.open(g.ws);
    const fresh = await c.join({});
    expect(fresh.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.resumed).toBe(false);
  });

  it('T26: a since older than retention gets a resync with a snapshot; malformed or future since gets an error, never a replay from 0', async () => {
    const g = await startGateway(BASE_YAML.replace('persist: true,', 'persist: true, max_messages: 4,'));
    const a = await TestClient.open(g.ws);
    await a.join({ session_id: 'r' });
    for (let i = 1; i <= 4; i++) await a.ask(`turn ${i}`, `t${i}`);
    // 8 entries, 4 kept/served: since 0 and since 2 are older than what is kept.
    for (const since of [0, 2]) {
      const c = await TestClient.open(g.ws);
      expect(await c.join({ session_id: 'r', since })).toMatchObject({ type: 'joined', cursor: 8 });
      const resync = await c.next((f) => f.type === 'resync');
      expect(resync).toMatchObject({ reason: 'retention', cursor: 8 });
      expect(resync.snapshot.map((e: any) => e.cursor)).toEqual([5, 6, 7, 8]);
      expect(c.frames.some((f) => f.type === 'replay')).toBe(false);
    }
    const ok = await TestClient.open(g.ws);
    await ok.join({ session_id: 'r', since: 5 });
    await ok.next((f) => f.type === 'replay' && f.cursor === 8);
    expect(ok.cursors()).toEqual([6, 7, 8]);

    for (const [since, code] of [['5', 'bad_since'], [-1, 'bad_since'], [1.5, 'bad_since'], [null, 'bad_since'], [9, 'future_since'], [1e12, 'future_since']] as const) {
      const c = await TestClient.open(g.ws);
      const r = await c.join({ session_id: 'r', since });
      expect(r, `since ${since}`).toMatchObject({ type: 'error', code });
      expect(typeof r.cursor).toBe('number');
      expect(c.frames.some((f) => f.type === 'replay' || f.type === 'joined')).toBe(false);
      // Still usable: a correct join works on the same connection.
      expect(await c.join({ session_id: 'r', since: 8 })).toMatchObject({ type: 'joined', cursor: 8 });
    }
    // A client of a session the gateway no longer has (here: never had) asks with since > 0: explicit resync.
    const lost = await TestClient.open(g.ws);
    expect(await lost.join({ session_id: 'gone', since: 42 })).toMatchObject({ type: 'joined', resumed: false, cursor: 0 });
    expect(await lost.next((f) => f.type === 'resync')).toMatchObject({ reason: 'not_found', cursor: 0, snapshot: [] });
  });

  it('every bad frame gets an error frame with a code and the connection and server stay usable', async () => {
    const g = await startGateway(BASE_YAML);
    const c = await TestClient.open(g.ws);
    const bad: Array<[unknown, string]> = [
      ['not json', 'bad_frame'],
      ['[1,2]', 'bad_frame'],
      ['"join"', 'bad_frame'],
      [{}, 'bad_frame'],
      [{ type: 'subscribe' }, 'bad_frame'],
      [{ type: 'join', session_id: 42 }, 'bad_frame'],
      [{ type: 'join', session_id: '' }, 'bad_frame'],
      [{ type: 'join', session_id: 'x'.repeat(300) }, 'bad_frame'],
      [{ type: 'join', session_id: 'a\u0000b' }, 'bad_frame'],
      [{ type: 'join', stream: 'yes' }, 'bad_frame'],
      [{ type: 'message', content: 'hello' }, 'not_joined'],
      [{ type: 'join', agent_id: 'nobody' }, 'unknown_agent'],
    ];
    for (const [frame, code] of bad) {
      const from = c.frames.length;
      c.send(frame);
      const e = await c.next((f) => f.type === 'error' || f.type === 'joined', { from });
      expect(e, JSON.stringify(frame)).toMatchObject({ type: 'error', code, cursor: 0 });
      expect(e.message.length).toBeGreaterThan(10);
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await c.next((f) => f.type === 'error' && /binary/.test(f.message))).toMatchObject({ code: 'bad_frame' });
    await c.join({ session_id: 'ok' });
    for (const [frame, code] of [
      [{ type: 'message', content: 7 }, 'bad_frame'],
      [{ type: 'message', content: '   ' }, 'empty_message'],
      [{ type: 'message', content: 'x', id: 'has space' }, 'bad_frame'],
      [{ type: 'message', content: 'y'.repeat(16_001) }, 'too_long'],
      [{ type: 'join', session_id: 'other' }, 'already_joined'],
    ] as const) {
      const from = c.frames.length;
      c.send(frame);
      expect(await c.next((f) => f.type === 'error', { from }), JSON.stringify(frame).slice(0, 80)).toMatchObject({ code });
    }
    expect((await c.ask('still here?', 'ok1')).content).toContain('turn 1');
    const other = await TestClient.open(g.ws);
    expect(await other.join({ session_id: 'fine' })).toMatchObject({ type: 'joined' });
  });

  it('a resent message id runs once; commands answer with a notice; /new resyncs attached clients', async () => {
    const g = await startGateway(BASE_YAML);
    const a = await TestClient.open(g.ws);
    await a.join({ session_id: 'idem' });
    await a.ask('once', 'same');
    const from = a.frames.length;
    a.send({ type: 'message', content: 'once', id: 'same' });
    expect(await a.next((f) => f.type === 'accepted', { from })).toMatchObject({ id: 'same', duplicate: true });
    const entries = await g.host.store.getEntries('bot_web_idem');
    expect(entries.map((e) => e.role)).toEqual(['user', 'assistant']);
    a.send({ type: 'message', content: '/status', id: 'st' });
    const notice = await a.next((f) => f.type === 'notice');
    expect(notice.content).toContain('Session: bot_web_idem');
    expect(notice.cursor).toBe(2);
    a.send({ type: 'message', content: '/new', id: 'nw' });
    expect(await a.next((f) => f.type === 'resync')).toMatchObject({ reason: 'cleared', cursor: 2, snapshot: [] });
    const r = await a.ask('fresh start', 'f1');
    expect(r.cursor).toBe(4);
    expect(r.content).toContain('turn 1');
  });

  it('serves the page, /healthz and /readyz; WebSockets only on / and /ws', async () => {
    const g = await startGateway(BASE_YAML);
    const page = await fetch(`${g.http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('app.js');
    expect((await fetch(`${g.http}/app.js`)).status).toBe(200);
    expect((await fetch(`${g.http}/style.css`)).status).toBe(200);
    expect((await fetch(`${g.http}/nope`)).status).toBe(404);
    expect(await (await fetch(`${g.http}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${g.http}/readyz`)).json()).toMatchObject({ ready: true });
    await expect(TestClient.open(`${g.ws}/other`)).rejects.toThrow(/404/);
    // A second gateway on a port in use: a clear error, not a stack trace.
    const { createGateway } = await import('../../src/gateway/gateway-server.js');
    const clash = createGateway({ host: g.host, logger: (await import('../../src/host/logger.js')).createLogger('silent'), port: g.gateway.port });
    await expect(clash.start()).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\): another process uses it/);
    await g.gateway.stop();
    await expect(fetch(`${g.http}/readyz`)).rejects.toThrow();
  });
});
