/**
 * Stop in distributed mode: the turn runs on a `bot worker` process, the user's stop reaches the
 * gateway process, which publishes it on Redis; the worker holding the session's lease aborts the
 * model call and commits what it had, marked stopped — seen by the client and kept in the log.
 */
import { promises as fsp } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, fakeModelEnv, freePort, killEverything, makeEnv, openRedis, startWorker, uniqueNames } from '../helpers/distributed-harness.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { killAllCli, startCli } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;
const LONG = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
const names = uniqueNames('gwstop');
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI({ responder: (body) => (String(body.messages?.at(-1)?.content).includes('slow') ? { text: LONG, delayMs: 40 } : 'quick') });
});
afterEach(() => killAllCli());
afterAll(async () => {
  await killEverything();
  await fake?.close();
  const redis = await openRedis();
  await deleteKeysWithPrefix(redis, names.prefix);
  redis.disconnect();
});

describe('stop with a worker pool', () => {
  it('the worker running the turn stops it: the partial reply is committed marked stopped, and the session goes on', async () => {
    const env = await makeEnv({ ...names, model: 'fake-model' }, fakeModelEnv(fake.url));
    const base = await fsp.readFile(env.configPath, 'utf8');
    await fsp.writeFile(env.configPath, `${base}gateway:\n  allow_loopback_without_auth: true\n  session: { persist: true }\n`);
    const worker = startWorker('w1', env);
    await worker.ready();
    const port = await freePort();
    const gw = startCli(env.sandbox, ['--config', env.configPath, 'gateway', '--port', String(port)], { timeoutMs: 60_000 });
    await gw.waitForStderr(READY, { timeoutMs: 15_000 });

    const a = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
    expect(await a.join({ session_id: 'dstop', stream: true })).toMatchObject({ type: 'joined' });
    a.send({ type: 'message', id: 'm1', content: 'be slow' });
    await a.next((f) => f.type === 'stream' && f.offset + f.delta.length > 20, { timeoutMs: 15_000 });
    a.send({ type: 'stop', id: 'm1' });
    await a.next((f) => f.type === 'stopping' && f.reply_to === 'm1');
    const r = await a.next((f) => f.type === 'response' && f.reply_to === 'm1', { timeoutMs: 15_000 });
    expect(r.stopped).toBe(true);
    expect(LONG.startsWith(r.content)).toBe(true);
    expect(r.content.length).toBeGreaterThan(20);
    expect(r.content.length).toBeLessThan(LONG.length / 2);
    // The next turn runs normally on the same worker.
    const r2 = await a.ask('and now?', 'm2', { timeoutMs: 15_000 });
    expect(r2).toMatchObject({ content: 'quick' });
    expect(r2.stopped).toBeUndefined();
    expect(a.cursors()).toEqual([1, 2, 3, 4]);
  }, 60_000);
});
