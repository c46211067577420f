/**
 * Protocol additions for the web chat: `stop` (the running turn is aborted and what it wrote is
 * committed, marked stopped, for every client and the model's next history), and an identity's
 * own sessions (`list_sessions`, `rename_session`, `delete_session`) — with two token identities
 * that must never see or touch each other's sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOPPED_EMPTY_REPLY } from '../../src/agent/run-turn.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { startGateway } from './gateway-fixture.js';
import { TestClient } from './ws-client.js';

const ALICE = 'alice-token-TEST-FAKE';
const BOB = 'bob-token-TEST-FAKE';
const LONG = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI({ responder: (body) => {
    const last = String(body.messages?.at(-1)?.content ?? '');
    return last.includes('slow') ? { text: LONG, delayMs: 40 } : { text: `quick answer to ${last}` };
  } });
});
afterAll(async () => {
  await fake?.close();
});

const yaml = () => `
agents: { assistant: { model: fake-model, base_url: "${fake.url}", api_key: fake-key-for-tests } }
store: { backend: file, path: "{dir}/sessions" }
gateway:
  allow_loopback_without_auth: false
  auth: { tokens: { alice: "${ALICE}", bob: "${BOB}" } }
  session: { persist: true, persist_path: "{dir}/gw" }
`;

describe('stop', () => {
  it('stops the reply being written: the partial reply is committed marked stopped, every client sees it, the next turn reads it', async () => {
    const g = await startGateway(yaml());
    const a = await TestClient.open(g.ws);
    expect(await a.join({ session_id: 'st', token: ALICE, stream: true })).toMatchObject({ type: 'joined' });
    const b = await TestClient.open(g.ws);
    await b.join({ session_id: 'st', token: ALICE, since: 0 });
    a.send({ type: 'message', id: 'm1', content: 'please be slow' });
    await a.next((f) => f.type === 'stream' && f.offset > 20);
    a.send({ type: 'stop', id: 'm1' });
    await a.next((f) => f.type === 'stopping' && f.reply_to === 'm1');
    const response = await a.next((f) => f.type === 'response' && f.reply_to === 'm1');
    expect(response.stopped).toBe(true);
    expect(response.content.length).toBeGreaterThan(0);
    expect(LONG.startsWith(response.content)).toBe(true);
    expect(response.content.length).toBeLessThan(LONG.length);
    // The other tab sees the same stopped reply; a fresh replay carries the flag too.
    expect(await b.next((f) => f.type === 'response' && f.reply_to === 'm1')).toMatchObject({ stopped: true, content: response.content });
    const c = await TestClient.open(g.ws);
    await c.join({ session_id: 'st', token: ALICE, since: 0 });
    expect((await c.next((f) => f.type === 'replay' && f.event.type === 'response')).event).toMatchObject({ stopped: true, content: response.content });
    // The log holds it once; the next turn's history includes the partial reply.
    const r2 = await a.ask('and now quick', 'm2');
    expect(r2.stopped).toBeUndefined();
    const lastBody = fake.requests.at(-1)!.body;
    expect(lastBody.messages.map((m: { role: string }) => m.role).slice(-3)).toEqual(['user', 'assistant', 'user']);
    expect(lastBody.messages.at(-2).content).toBe(response.content);
    // Nothing running: not_running, the connection stays usable.
    a.send({ type: 'stop' });
    expect(await a.next((f) => f.type === 'error' && f.code === 'not_running')).toBeTruthy();
    const entries = await g.host.store.getEntries('bot_web_st');
    expect(entries.map((e) => e.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(entries[1]!.metadata?.stopped).toBe(true);
  }, 30_000);

  it('a stop before the first word commits a marker reply; a stop without id stops the running turn', async () => {
    fake.setResponder(() => ({ text: 'late words', delayMs: 4000 }));
    try {
      const g = await startGateway(yaml());
      const a = await TestClient.open(g.ws);
      await a.join({ session_id: 'st2', token: ALICE });
      a.send({ type: 'message', id: 'x1', content: 'anything' });
      await a.next((f) => f.type === 'typing');
      a.send({ type: 'stop' });
      const r = await a.next((f) => f.type === 'response' && f.reply_to === 'x1');
      expect(r).toMatchObject({ stopped: true, content: STOPPED_EMPTY_REPLY });
    } finally {
      fake.setResponder((body) => {
        const last = String(body.messages?.at(-1)?.content ?? '');
        return last.includes('slow') ? { text: LONG, delayMs: 40 } : { text: `quick answer to ${last}` };
      });
    }
  }, 20_000);
});

describe("an identity's own sessions", () => {
  it('list_sessions returns only the identity’s sessions (titled by the first message), newest first; rename and delete only the own', async () => {
    const g = await startGateway(yaml());
    const alice = await TestClient.open(g.ws);
    await alice.join({ session_id: 'a-1', token: ALICE });
    await alice.ask('first topic of alice', 'a1');
    const alice2 = await TestClient.open(g.ws);
    await alice2.join({ session_id: 'a-2', token: ALICE });
    alice2.send({ type: 'message', id: 's0', content: '/status' }); // a command never titles a session
    await alice2.next((f) => f.type === 'notice');
    await alice2.ask('second topic of alice', 'a2');
    const bob = await TestClient.open(g.ws);
    await bob.join({ session_id: 'b-1', token: BOB });
    await bob.ask('bob secret plans', 'b1');

    const list = async (c: TestClient) => {
      const from = c.frames.length;
      c.send({ type: 'list_sessions' });
      return (await c.next((f) => f.type === 'sessions', { from })).sessions as Array<{ session_id: string; title?: string; updated_at: number }>;
    };
    const mine = await list(alice);
    expect(mine.map((s) => s.session_id)).toEqual(['a-2', 'a-1']);
    expect(mine.map((s) => s.title)).toEqual(['second topic of alice', 'first topic of alice']);
    expect(JSON.stringify(mine)).not.toContain('bob');
    expect((await list(bob)).map((s) => s.session_id)).toEqual(['b-1']);

    // Another identity's session: forbidden, and nothing changes.
    const ask = async (c: TestClient, frame: Record<string, unknown>) => {
      const from = c.frames.length;
      c.send(frame);
      return c.next((f) => f.type === 'error' || f.type === 'session_renamed' || f.type === 'session_deleted', { from });
    };
    expect(await ask(bob, { type: 'rename_session', session_id: 'a-1', title: 'pwned' })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await ask(bob, { type: 'delete_session', session_id: 'a-1' })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await ask(bob, { type: 'delete_session', session_id: 'nope' })).toMatchObject({ type: 'error', code: 'not_found' });
    expect(await ask(alice, { type: 'rename_session', session_id: 'a-1', title: '   ' })).toMatchObject({ type: 'error', code: 'bad_frame' });
    expect(await ask(alice, { type: 'rename_session', session_id: 'a-1', title: 'Renamed' })).toMatchObject({ type: 'session_renamed', title: 'Renamed' });
    expect((await list(alice)).find((s) => s.session_id === 'a-1')?.title).toBe('Renamed');

    expect(await ask(alice, { type: 'delete_session', session_id: 'a-2' })).toMatchObject({ type: 'session_deleted', session_id: 'a-2' });
    expect((await list(alice)).map((s) => s.session_id)).toEqual(['a-1']);
    expect(await g.host.store.getSession('bot_web_a-2')).toBeNull();
    expect(await g.host.store.getSession('bot_web_b-1')).not.toBeNull();
  }, 30_000);

  it('list_sessions without an identity is refused (no close), never a listing', async () => {
    const g = await startGateway(yaml());
    const anon = await TestClient.open(g.ws);
    anon.send({ type: 'list_sessions' });
    expect(await anon.next((f) => f.type === 'error')).toMatchObject({ code: 'unauthorized' });
  });
});
