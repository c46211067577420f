/**
 * Redis unreachable with `queue.backend: bullmq`, with real processes: at start, every command
 * names the Redis (URL without password), says it is unreachable and exits 1 (no stack); during
 * an outage, each process logs one structured warning per interval instead of a dump per
 * reconnect attempt, a gateway client gets `unavailable` with retry advice, and SIGTERM still
 * stops the process (within the shutdown grace period).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../gateway/ws-client.js';
import { destroyOwnRedises, freePort, OwnRedis } from '../helpers/redis-fixtures.js';
import { runCli, startCli, useSandbox } from '../helpers/run-cli.js';

const PASSWORD = 'TEST-FAKE-redis-pass';
const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;
const yaml = (url: string) => `
agents: { assistant: { model: echo } }
store: { backend: redis, url: "${url}", prefix: "t-unreach" }
queue: { backend: bullmq }
gateway: { allow_loopback_without_auth: true, session: { persist: true } }
`;

afterEach(() => destroyOwnRedises());

describe('Redis unreachable (bullmq)', () => {
  const cli = useSandbox();

  it('at start: chat, worker, queue status, gateway and session list name the Redis and exit 1', async () => {
    const port = await freePort(); // nothing listens there
    const config = path.join(cli.sb.root, 'bots.yaml');
    await fsp.writeFile(config, yaml(`redis://:${PASSWORD}@127.0.0.1:${port}/0`));
    const commands = [['chat', '--message', 'hi'], ['worker'], ['queue', 'status'], ['gateway', '--port', '0'], ['session', 'list']];
    const results = await Promise.all(commands.map((c) => runCli(cli.sb, ['--config', config, ...c], { timeoutMs: 30_000 })));
    results.forEach((r, i) => {
      const what = commands[i]!.join(' ');
      expect(r.code, `${what}: ${r.all}`).toBe(1);
      expect(r.stderr, what).toMatch(new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0 .*ECONNREFUSED`));
      expect(r.all, what).not.toContain(PASSWORD);
      expect(r.all, what).not.toMatch(/unexpected error|^\s+at /m);
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
    });
  }, 60_000);

  it('during an outage: one structured warning per process, and gateway clients get unavailable with retry_after_ms', async () => {
    const redis = await OwnRedis.start(['--maxmemory-policy', 'noeviction']);
    const config = path.join(cli.sb.root, 'bots.yaml');
    await fsp.writeFile(config, yaml(redis.url));
    const grace = { env: { BOT_SHUTDOWN_GRACE_MS: '3000' } };
    const worker = startCli(cli.sb, ['--config', config, 'worker'], { timeoutMs: 90_000, ...grace });
    await worker.waitForStderr(/worker ready/, { timeoutMs: 20_000 });
    const gw = startCli(cli.sb, ['--config', config, 'gateway', '--port', '0'], { timeoutMs: 90_000, ...grace });
    const port = Number((await gw.waitForStderr(READY, { timeoutMs: 20_000 }))[1]);
    const client = await TestClient.open(`ws://127.0.0.1:${port}/`);
    await client.join({ session_id: 'outage' });
    expect((await client.ask('before', 'm1', { timeoutMs: 15_000 })).content).toContain('turn 1');

    const marks = { worker: worker.stderr().length, gw: gw.stderr().length };
    await redis.stop('SIGKILL');
    const from = client.frames.length;
    client.send({ type: 'message', content: 'during', id: 'm2' });
    const answer = await client.next((f) => f.type === 'error' || f.type === 'accepted', { from, timeoutMs: 20_000 });
    expect(answer).toMatchObject({ type: 'error', code: 'unavailable', retry_after_ms: expect.any(Number) });
    await new Promise((r) => setTimeout(r, 3_000)); // ioredis retries many times in this window

    for (const [name, text] of [['worker', worker.stderr().slice(marks.worker)], ['gateway', gw.stderr().slice(marks.gw)]] as const) {
      expect(text, name).not.toMatch(/^\s+at |Error: connect ECONNREFUSED|errno:/m);
      const warnings = text.split('\n').filter((l) => /unreachable/.test(l));
      expect(warnings.length, `${name}:\n${text}`).toBe(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, redis: redis.url, reason: expect.stringMatching(/^E[A-Z]+/) });
    }
    // SIGTERM while Redis is still down: each process gives its drain the grace period, then exits.
    const stopping = Date.now();
    worker.proc.kill('SIGTERM');
    gw.proc.kill('SIGTERM');
    for (const [name, proc] of [['worker', worker], ['gateway', gw]] as const) {
      const done = await proc.exited(20_000);
      expect(Date.now() - stopping, name).toBeLessThan(15_000);
      expect(done.code, `${name}: ${done.stderr.slice(-2000)}`).not.toBeNull();
      if (done.code !== 0) expect(done.stderr, name).toMatch(/could not stop cleanly within 3 s/);
      expect(done.all, name).not.toMatch(/^\s+at /m);
    }
  }, 90_000);
});
