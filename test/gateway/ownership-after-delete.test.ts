/**
 * T33 ownership across deletion: an operator deletes a session (or the store loses it) while its
 * owner is still connected. Nothing the owner sends afterwards may land in a session another
 * identity can claim, and a claim is atomic (two identities creating one id: exactly one wins).
 * Run against the file store and the Redis store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/gateway/auth.js';
import { webSessionKey } from '../../src/sessions/web-sessions.js';
import { deleteKeysWithPrefix, openRedis, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';
import { startGateway } from './gateway-fixture.js';
import { TestClient, type Frame } from './ws-client.js';

const SECRET = 'test-secret-TEST-FAKE-0123456789';
const names = uniqueNames('gw-own');
const auth = `auth: { secret: "${SECRET}" }`;
const STORES: Record<string, string> = {
  file: `
agents: { assistant: { model: echo } }
store: { backend: file, path: "{dir}/sessions" }
gateway:
  ${auth}
  session: { persist: true, persist_path: "{dir}/gw" }
`,
  redis: `
agents: { assistant: { model: echo } }
store: { backend: redis, url: "${SHARED_REDIS_URL}", prefix: "${names.prefix}" }
gateway:
  ${auth}
  session: { persist: true }
`,
};

afterAll(async () => {
  const redis = await openRedis();
  await deleteKeysWithPrefix(redis, names.prefix);
  redis.disconnect();
});

const as = (who: string) => ({ headers: { authorization: `Bearer ${mintToken(SECRET, who, 600)}` } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(Object.keys(STORES))('gateway session ownership across deletion (%s store)', (kind) => {
  it('a message on the owner’s socket after the session was deleted is refused, never readable by another identity', async () => {
    const g = await startGateway(STORES[kind]!);
    const sid = `pin-${kind}-${Date.now()}`;
    const alice = await TestClient.open(g.ws, as('alice'));
    expect(await alice.join({ session_id: sid })).toMatchObject({ type: 'joined', identity: 'alice' });
    expect((await alice.ask('hello', 'a0')).content).toContain('turn 1');

    expect(await g.host.store.deleteSession(webSessionKey(sid))).toBe(true);
    const from = alice.frames.length;
    alice.send({ type: 'message', content: 'my card pin is 9876', id: 'a1' });
    const answer = await alice.next((f) => f.type === 'error' || f.type === 'accepted', { from });
    expect(answer).toMatchObject({ type: 'error', code: 'not_found', reply_to: 'a1' });
    expect(await alice.next((f) => f.type === 'resync', { from })).toMatchObject({ reason: 'not_found', cursor: 0, snapshot: [] });
    await sleep(300); // a turn, had one been queued, would have committed by now

    // Nothing was written under the id; bob may start it, and gets nothing of alice's.
    const stored = await g.host.store.getSession(webSessionKey(sid));
    expect(JSON.stringify(stored)).not.toContain('9876');
    const bob = await TestClient.open(g.ws, as('bob'));
    const joined = await bob.join({ session_id: sid, since: 0 });
    expect(joined).toMatchObject({ type: 'joined', identity: 'bob', resumed: false, pending: [] });
    await sleep(200);
    expect(JSON.stringify(bob.frames)).not.toContain('9876');
    expect(JSON.stringify(await g.host.store.getEntries(webSessionKey(sid)))).not.toContain('9876');

    // Alice's open socket may join again (the old session is gone); bob's id is now bob's.
    expect(await alice.join({ session_id: sid })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await alice.join({ session_id: `${sid}-new` })).toMatchObject({ type: 'joined', resumed: false });
    expect((await alice.ask('again', 'a2')).content).toContain('turn 1');
  });

  it('the owner can start a deleted session again on the same socket', async () => {
    const g = await startGateway(STORES[kind]!);
    const sid = `again-${kind}-${Date.now()}`;
    const alice = await TestClient.open(g.ws, as('alice'));
    await alice.join({ session_id: sid });
    await alice.ask('one', 'a0');
    await g.host.store.deleteSession(webSessionKey(sid));
    const from = alice.frames.length;
    alice.send({ type: 'message', content: 'two', id: 'a1' });
    await alice.next((f) => f.type === 'error' && f.code === 'not_found', { from });
    expect(await alice.join({ session_id: sid })).toMatchObject({ type: 'joined', resumed: false, cursor: 0 });
    expect((await alice.ask('two', 'a1')).content).toContain('turn 1');
  });

  it('two identities creating one id at the same moment: exactly one owns it', async () => {
    const g = await startGateway(STORES[kind]!);
    for (let round = 0; round < 10; round++) {
      const sid = `race-${kind}-${Date.now()}-${round}`;
      const who = ['alice', 'bob', 'carol', 'dave'];
      const clients = await Promise.all(who.map((w) => TestClient.open(g.ws, as(w))));
      const answers: Frame[] = await Promise.all(clients.map((c) => c.join({ session_id: sid })));
      const winners = answers.filter((a) => a.type === 'joined');
      expect(winners, JSON.stringify(answers)).toHaveLength(1);
      expect(answers.filter((a) => a.code === 'forbidden')).toHaveLength(who.length - 1);
      const info = await g.host.store.getSession(webSessionKey(sid));
      expect(info!.metadata['gw.owner']).toBe(winners[0]!.identity);
      clients.forEach((c) => c.close());
    }
  });
});
