/** Every gateway.session option does something: persist, persist_path, max_messages, resume_window, purge_interval, timeout. */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_YAML, startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const yaml = (session: string) => `
agents: { assistant: { model: echo } }
store: { backend: file, path: "{dir}/sessions" }
gateway:
  allow_loopback_without_auth: true
  session: { ${session} }
`;

describe('gateway.session options', () => {
  it('persist true + persist_path: sessions are files there, and cursors continue across a restart', async () => {
    const g1 = await startGateway(yaml('persist: true, persist_path: "{dir}/where"'));
    const a = await TestClient.open(g1.ws);
    await a.join({ session_id: 'keep' });
    await a.ask('first', 'k1');
    expect(await fsp.readdir(path.join(g1.dir, 'where'))).toEqual(['bot_web_keep.jsonl']);
    expect(existsSync(path.join(g1.dir, 'sessions', 'bot_web_keep.jsonl'))).toBe(false);
    await g1.stop();
    const g2 = await startGateway(yaml('persist: true, persist_path: "{dir}/where"'), { dir: g1.dir });
    const b = await TestClient.open(g2.ws);
    expect(await b.join({ session_id: 'keep', since: 0 })).toMatchObject({ resumed: true, cursor: 2 });
    const r = await b.ask('second', 'k2');
    expect(r.cursor).toBe(4);
    expect(r.content).toContain('turn 2');
    expect(b.cursors()).toEqual([1, 2, 3, 4]);
  });

  it('persist false: sessions live in memory only; after a restart a resuming client gets an explicit resync', async () => {
    const g1 = await startGateway(yaml('persist: false, persist_path: "{dir}/never"'));
    const a = await TestClient.open(g1.ws);
    await a.join({ session_id: 'mem' });
    await a.ask('hello', 'h1');
    expect(existsSync(path.join(g1.dir, 'never'))).toBe(false);
    expect(existsSync(path.join(g1.dir, 'sessions'))).toBe(false);
    await g1.stop();
    const g2 = await startGateway(yaml('persist: false'), { dir: g1.dir });
    const b = await TestClient.open(g2.ws);
    expect(await b.join({ session_id: 'mem', since: 2 })).toMatchObject({ resumed: false, cursor: 0 });
    expect(await b.next((f) => f.type === 'resync')).toMatchObject({ reason: 'not_found', snapshot: [] });
  });

  it('max_messages caps what is kept and served: a longer gap becomes a resync of the newest max_messages', async () => {
    const g = await startGateway(yaml('persist: true, persist_path: "{dir}/gw", max_messages: 2'));
    const a = await TestClient.open(g.ws);
    await a.join({ session_id: 'cap' });
    for (let i = 1; i <= 3; i++) await a.ask(`m${i}`, `c${i}`);
    expect((await g.host.store.getChatHistory('bot_web_cap')).length).toBe(2);
    const b = await TestClient.open(g.ws);
    await b.join({ session_id: 'cap', since: 3 });
    const resync = await b.next((f) => f.type === 'resync');
    expect(resync.snapshot.map((e: any) => e.cursor)).toEqual([5, 6]);
    const c = await TestClient.open(g.ws);
    await c.join({ session_id: 'cap', since: 4 });
    await c.next((f) => f.type === 'replay' && f.cursor === 6);
    expect(c.cursors()).toEqual([5, 6]);
  });

  it('resume_window + purge_interval: a detached session is purged once the window passes; an attached one never is', async () => {
    const g = await startGateway(yaml('persist: true, persist_path: "{dir}/gw", resume_window: 1, purge_interval: 1'));
    const leaver = await TestClient.open(g.ws);
    await leaver.join({ session_id: 'leaves' });
    await leaver.ask('bye', 'l1');
    const stayer = await TestClient.open(g.ws);
    await stayer.join({ session_id: 'stays' });
    await stayer.ask('hi', 's1');
    leaver.close();
    await leaver.closed;
    const file = path.join(g.dir, 'gw', 'bot_web_leaves.jsonl');
    // Still resumable inside the window.
    expect(existsSync(file)).toBe(true);
    const deadline = Date.now() + 8_000;
    while (existsSync(file) && Date.now() < deadline) await sleep(100);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(path.join(g.dir, 'gw', 'bot_web_stays.jsonl'))).toBe(true);
    expect((await stayer.ask('still here', 's2')).content).toContain('turn 2');
    const back = await TestClient.open(g.ws);
    expect(await back.join({ session_id: 'leaves', since: 2 })).toMatchObject({ resumed: false });
    expect(await back.next((f) => f.type === 'resync')).toMatchObject({ reason: 'not_found' });
  });

  it('resume_window is checked on join too (between purges): an expired session is not resumed', async () => {
    const g = await startGateway(yaml('persist: true, persist_path: "{dir}/gw", resume_window: 1'));
    const a = await TestClient.open(g.ws);
    await a.join({ session_id: 'old' });
    await a.ask('x', 'o1');
    a.close();
    await a.closed;
    const b = await TestClient.open(g.ws);
    expect(await b.join({ session_id: 'old', since: 2 })).toMatchObject({ resumed: true, cursor: 2 });
    b.close();
    await b.closed;
    await sleep(2_300);
    const c = await TestClient.open(g.ws);
    expect(await c.join({ session_id: 'old', since: 2 })).toMatchObject({ resumed: false, cursor: 0 });
  });

  it('timeout: a connection silent for `timeout` seconds is closed (4000) and its session stays resumable; a talking one stays', async () => {
    const g = await startGateway(yaml('persist: true, persist_path: "{dir}/gw", timeout: 1'));
    const idle = await TestClient.open(g.ws);
    await idle.join({ session_id: 'idle' });
    await idle.ask('hello', 'i1');
    const busy = await TestClient.open(g.ws);
    await busy.join({ session_id: 'busy' });
    const pinger = setInterval(() => busy.send({ type: 'ping' }), 300);
    try {
      const closed = await Promise.race([idle.closed, sleep(5_000).then(() => null)]);
      expect(closed).toMatchObject({ code: 4000 });
      expect(closed!.reason).toMatch(/idle/);
      expect(busy.ws.readyState).toBe(busy.ws.OPEN);
    } finally {
      clearInterval(pinger);
    }
    const again = await TestClient.open(g.ws);
    expect(await again.join({ session_id: 'idle', since: 0 })).toMatchObject({ resumed: true, cursor: 2 });
  });

  it('pending_inbox and is_executing are session metadata while a turn runs, cleared when it ends', async () => {
    const g = await startGateway(BASE_YAML);
    const a = await TestClient.open(g.ws);
    await a.join({ session_id: 'pend' });
    a.send({ type: 'message', content: 'hi', id: 'p1' });
    await a.next((f) => f.type === 'typing');
    const during = (await g.host.store.getSession('bot_web_pend'))!.metadata;
    expect(during['gw.pending.p1']).toMatchObject({ content: 'hi', identity: 'local' });
    await a.next((f) => f.type === 'response');
    await sleep(100);
    const after = (await g.host.store.getSession('bot_web_pend'))!.metadata;
    expect(Object.keys(after).filter((k) => k.startsWith('gw.pending.') || k === 'gw.executing')).toEqual([]);
  });
});
