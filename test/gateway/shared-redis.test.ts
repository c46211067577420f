/**
 * Several `bot gateway` processes behind one load balancer, sharing Redis (queue bullmq + store
 * redis) with a `bot worker` pool: a client can resume on any of them, and a gateway killed
 * mid-conversation loses nothing (its clients resume on the other one).
 */
import { promises as fsp } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, freePort, killEverything, makeEnv, openRedis, startWorker, uniqueNames } from '../helpers/distributed-harness.js';
import { killAllCli, startCli } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;
const names = uniqueNames('gw');
afterEach(() => killAllCli());
afterAll(async () => {
  await killEverything();
  const redis = await openRedis();
  await deleteKeysWithPrefix(redis, names.prefix);
  redis.disconnect();
});

describe('gateways sharing Redis', () => {
  it('a session started on one gateway resumes on another, and survives that gateway being killed', async () => {
    const env = await makeEnv(names);
    const base = await fsp.readFile(env.configPath, 'utf8');
    await fsp.writeFile(env.configPath, `${base}gateway:\n  allow_loopback_without_auth: true\n  session: { persist: true }\n`);
    startWorker('w1', env);
    const ports = [await freePort(), await freePort()];
    const gws = ports.map((p) => startCli(env.sandbox, ['--config', env.configPath, 'gateway', '--port', String(p)], { timeoutMs: 60_000 }));
    await Promise.all(gws.map((g) => g.waitForStderr(READY, { timeoutMs: 15_000 })));
    const [urlA, urlB] = ports.map((p) => `ws://127.0.0.1:${p}/ws`);

    const a = await TestClient.open(urlA!);
    expect(await a.join({ session_id: 'roam', since: 0, stream: true })).toMatchObject({ type: 'joined', resumed: false });
    const r1 = await a.ask('my name is Ada', 'r1', { timeoutMs: 20_000 });
    expect(r1).toMatchObject({ cursor: 2 });

    // A watcher on gateway B sees a turn sent through gateway A, live.
    const b = await TestClient.open(urlB!);
    expect(await b.join({ session_id: 'roam', since: 2 })).toMatchObject({ type: 'joined', resumed: true, cursor: 2 });
    const r2 = await a.ask('what is my name?', 'r2', { timeoutMs: 20_000 });
    expect(r2.content).toContain('Your name is Ada');
    await b.next((f) => f.type === 'response' && f.cursor === 4, { timeoutMs: 15_000 });

    // Gateway A dies; its client resumes on B with since and misses nothing.
    a.send({ type: 'message', content: 'third', id: 'r3' });
    await a.next((f) => f.type === 'accepted' && f.id === 'r3');
    gws[0]!.proc.kill('SIGKILL');
    await a.closed;
    const highest = Math.max(...a.cursors());
    const a2 = await TestClient.open(urlB!);
    await a2.join({ session_id: 'roam', since: highest });
    await a2.next((f) => (f.type === 'replay' ? f.event.cursor : f.cursor) === 6 && (f.type === 'replay' || f.type === 'response'), { timeoutMs: 20_000 });
    expect([...a.cursors(), ...a2.cursors()]).toEqual([1, 2, 3, 4, 5, 6]);
    // B's watcher gets 5 and 6 live over Redis pub/sub, which may land after a2's replay.
    if (!b.cursors().includes(6)) await b.next((f) => f.type === 'response' && f.cursor === 6, { timeoutMs: 15_000 });
    expect(b.cursors()).toEqual([3, 4, 5, 6]);
    // Ownership is shared too: another identity is refused on either gateway (no tokens here, so: a cross-site origin).
    const evil = await TestClient.open(urlB!, { headers: { origin: 'https://evil.example' } });
    expect(await evil.join({ session_id: 'roam' })).toMatchObject({ code: 'unauthorized' });
  }, 90_000);
});
