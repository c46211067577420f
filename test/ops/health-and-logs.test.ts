/**
 * The probes every role serves (`/healthz`, `/readyz` with its reason, `/metrics`) on a real
 * listener with real failing dependencies, and the log formats: pretty lines on request (and on a
 * terminal), JSON lines otherwise.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { readinessProbe, startOpsServer } from '../../src/ops/ops-server.js';
import { prettyLine } from '../../src/ops/pretty-log.js';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { freePort, openRedis } from '../helpers/redis-fixtures.js';
import { startCli, useSandbox } from '../helpers/run-cli.js';

const box = useSandbox();
const answering = { sessionExists: async () => false };

async function probe(readiness: ReturnType<typeof readinessProbe>) {
  const server = await startOpsServer({ host: '127.0.0.1', port: 0, metrics: new Metrics(), readiness });
  try {
    const get = async (p: string) => {
      const res = await fetch(`${server.url}${p}`);
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
    };
    return { healthz: await get('/healthz'), readyz: await get('/readyz'), metrics: await get('/metrics'), other: await get('/nope') };
  } finally {
    await server.close();
  }
}

describe('health probes', () => {
  it('are ready when the store and Redis answer', async () => {
    const redis = await openRedis();
    try {
      const r = await probe(readinessProbe({ store: answering, redis, draining: () => false }));
      expect([r.healthz.status, r.readyz.status, JSON.parse(r.readyz.body)]).toEqual([200, 200, { ready: true }]);
      expect(r.metrics.type).toMatch(/^text\/plain/);
      expect(r.metrics.body).toContain('# TYPE bothost_turns_total counter');
      expect(r.other.status).toBe(404);
    } finally {
      redis.disconnect();
    }
  });

  it('are not ready, with the reason, when the store fails or hangs, Redis is down, or the process drains', async () => {
    const failing = { sessionExists: () => Promise.reject(new Error('disk on fire')) };
    const hanging = { sessionExists: () => new Promise<boolean>(() => undefined) };
    const down = connectRedis(`redis://127.0.0.1:${await freePort()}`, { retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true });
    const cases: Array<[ReturnType<typeof readinessProbe>, RegExp]> = [
      [readinessProbe({ store: failing, draining: () => false }), /^store: disk on fire$/],
      [readinessProbe({ store: hanging, draining: () => false, timeoutMs: 200 }), /^store: no answer within 200 ms$/],
      [readinessProbe({ store: answering, redis: down, draining: () => false, timeoutMs: 1000 }), /^redis: /],
      [readinessProbe({ store: answering, draining: () => true }), /^draining/],
    ];
    for (const [readiness, reason] of cases) {
      const r = await probe(readiness);
      expect(r.healthz.status).toBe(200);
      expect(r.readyz.status).toBe(503);
      const body = JSON.parse(r.readyz.body) as { ready: boolean; reason: string };
      expect(body.ready).toBe(false);
      expect(body.reason).toMatch(reason);
    }
    down.disconnect();
  });
});

describe('the gateway', () => {
  it('serves /metrics on its own port, with its open connections', async () => {
    await fsp.writeFile(path.join(box.sb.cwd, 'bots.yaml'), 'metrics: { port: 0 }\n');
    const cli = startCli(box.sb, ['gateway', '--port', '0']);
    const [, url] = (await cli.waitForStderr(/web chat at (http:\/\/\S+\/) /, { timeoutMs: 20_000 })) as RegExpMatchArray;
    const res = await fetch(`${url}metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toMatch(/^bothost_gateway_connections 0$/m);
    // The gateway mounts the endpoints itself: no second listener.
    expect(cli.stderr()).not.toMatch(/metrics on http/);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited(10_000)).code).toBe(0);
  });
});

describe('log formats', () => {
  it('renders a JSON line as one human line, fields after the message', () => {
    const line = prettyLine(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5), pid: 1, msg: 'turn failed', session: 'bot_x_1', err: 'model said no', willRetry: true }));
    expect(line).toBe('03:04:05 WARN  turn failed session=bot_x_1 err="model said no" willRetry=true');
    expect(prettyLine('not json')).toBe('not json');
  });

  for (const format of ['pretty', 'json'] as const) {
    it(`a process with log.format ${format} logs ${format === 'pretty' ? 'human lines' : 'JSON lines'}`, async () => {
      await fsp.writeFile(path.join(box.sb.cwd, 'bots.yaml'), `log: { format: ${format} }\nmetrics: { port: 0 }\n`);
      const cli = startCli(box.sb, ['start']);
      await cli.waitForStderr(/Ctrl-C to stop/, { timeoutMs: 20_000 });
      cli.proc.kill('SIGTERM');
      const done = await cli.exited(10_000);
      const line = done.stderr.split('\n').find((l) => l.includes('metrics on http'));
      if (format === 'pretty') expect(line).toMatch(/^\d\d:\d\d:\d\d INFO  metrics on http:\/\/127\.0\.0\.1:\d+\/metrics .* url=http/);
      else expect(JSON.parse(line!)).toMatchObject({ level: 30, msg: expect.stringMatching(/^metrics on http/) });
    });
  }
});
