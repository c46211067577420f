/**
 * T25 with real processes: observers reconnect at random with `since` while a producer keeps a
 * session busy, and gateway processes are SIGKILLed and restarted on the same port.
 * - one gateway with the file store (embedded mode);
 * - two gateways sharing Redis with a worker pool, clients picking either at random.
 * I7: every observer receives every event exactly once, in order, with no gap. I1/I2/I3: every
 * acknowledged message ends up as exactly one user entry, in send order, followed by one reply.
 * CI size by default; `CHAOS=full` (npm run chaos) runs 5 000 messages (10 000 events) with the
 * spec's 0.5–3 s reconnect intervals.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, freePort, keysWithPrefix, killEverything, makeEnv, openRedis, startWorker, uniqueNames } from '../helpers/distributed-harness.js';
import { startCli, useSandbox, type LiveCli, type Sandbox } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const FULL = process.env.CHAOS === 'full';
const N = FULL ? 5_000 : 40;
const RECONNECT_MS: [number, number] = FULL ? [500, 3_000] : [200, 1_000];
const KILLS = FULL ? 12 : 2;
const KILL_EVERY_MS = FULL ? 5_000 : 1_200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;
const box = useSandbox();
const names = uniqueNames('t25');
afterAll(async () => {
  await killEverything();
  const redis = await openRedis();
  await deleteKeysWithPrefix(redis, names.prefix);
  redis.disconnect();
});

/** Gateway processes on fixed ports, each restartable after a SIGKILL. */
class GatewayFleet {
  readonly procs: LiveCli[] = [];
  constructor(
    private readonly sandbox: Sandbox,
    private readonly config: string,
    readonly ports: number[],
  ) {}
  get urls(): string[] {
    return this.ports.map((p) => `ws://127.0.0.1:${p}/ws`);
  }
  async start(i: number): Promise<void> {
    const cli = startCli(this.sandbox, ['--config', this.config, 'gateway', '--port', String(this.ports[i])], { timeoutMs: FULL ? 1_800_000 : 120_000 });
    this.procs[i] = cli;
    await cli.waitForStderr(READY, { timeoutMs: 20_000 });
  }
  async killAndRestart(i: number): Promise<void> {
    this.procs[i]!.proc.kill('SIGKILL');
    await this.procs[i]!.exited();
    await this.start(i);
  }
  async stopAll(): Promise<void> {
    for (const p of this.procs) p.proc.kill('SIGTERM');
    for (const p of this.procs) expect((await p.exited(20_000)).code).toBe(0);
  }
}

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

/**
 * What Redis holds for the run (queue mode): every inbox, kick flag, lease and pending set with its
 * size or value, and the kick jobs' counts, so a run that misses an event says whether a turn
 * was stranded or only not delivered.
 */
async function redisState(prefix: string): Promise<string> {
  const redis = await openRedis();
  try {
    const lines: string[] = [];
    for (const key of (await keysWithPrefix(redis, prefix)).sort()) {
      if (!/:(inbox|kicked|lease|pending|meta)$|:bull:.*:(wait|active|failed)$/.test(key)) continue;
      const type = await redis.type(key);
      const shown =
        type === 'list' ? `${await redis.llen(key)} entries` : type === 'set' ? JSON.stringify(await redis.smembers(key)) : type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : String(await redis.get(key));
      lines.push(`${key} (${type}): ${shown.slice(0, 600)}`);
    }
    return lines.join('\n');
  } finally {
    redis.disconnect();
  }
}

async function runT25(fleet: GatewayFleet, explain?: () => Promise<string>): Promise<void> {
  let producing = true;
  const acknowledged = new Set<string>();
  const producer = (async () => {
    for (let i = 0; i < N; ) {
      try {
        const c = await TestClient.open(pick(fleet.urls));
        await c.join({ session_id: 'chaos' });
        while (i < N && c.ws.readyState === c.ws.OPEN) {
          const id = `p${i}`;
          const from = c.frames.length;
          c.send({ type: 'message', content: `message ${i}`, id });
          const answer = await c.next((f) => (f.type === 'accepted' && f.id === id) || (f.type === 'error' && f.reply_to === id), { from, timeoutMs: 5_000 });
          if (answer.type === 'error') {
            // busy (max_pending turns waiting) is back-pressure: wait, then resend the same id.
            await sleep(answer.retry_after_ms ?? 100);
            continue;
          }
          acknowledged.add(id);
          i++;
          if (!FULL) await sleep(20 + Math.random() * 40);
        }
        c.ws.terminate();
      } catch {
        await sleep(150); // gateway down or socket died: resend the same id, never a new one
      }
    }
    producing = false;
  })();

  const observe = async () => {
    const seen: number[] = [];
    let highest = 0;
    const session = async (ms: number) => {
      let c: TestClient | undefined;
      try {
        c = await TestClient.open(pick(fleet.urls));
        c.ws.on('message', (d) => {
          const f = JSON.parse(String(d));
          const cursor = f.type === 'replay' ? f.event.cursor : f.type === 'message' || f.type === 'response' ? f.cursor : undefined;
          if (cursor !== undefined) {
            seen.push(cursor);
            highest = Math.max(highest, cursor);
          }
        });
        c.send({ type: 'join', session_id: 'chaos', since: highest });
        await sleep(ms);
      } catch {
        await sleep(100);
      } finally {
        c?.ws.terminate();
      }
    };
    while (producing) await session(RECONNECT_MS[0] + Math.random() * (RECONNECT_MS[1] - RECONNECT_MS[0]));
    return { seen, highest: () => highest, session };
  };
  const observers = [observe(), observe(), observe()];

  for (let k = 0; k < KILLS && producing; k++) {
    await sleep(KILL_EVERY_MS);
    await fleet.killAndRestart(k % fleet.ports.length);
  }
  await producer;

  const probe = await TestClient.open(fleet.urls[0]!);
  await probe.join({ session_id: 'chaos', since: 0 });
  let last = 0;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && last < 2 * N; ) {
    last = Math.max(0, ...probe.cursors());
    await sleep(100);
  }
  expect(last, last < 2 * N && explain ? await explain() : undefined).toBe(2 * N);
  const events = probe.frames.flatMap((f) => (f.type === 'replay' ? [f.event] : f.type === 'message' || f.type === 'response' ? [f] : []));
  expect(events.filter((e) => e.type === 'message').map((e) => e.id)).toEqual(Array.from({ length: N }, (_, i) => `p${i}`));
  expect(events.filter((e) => e.type === 'response').length).toBe(N);
  expect(acknowledged.size).toBe(N);

  for (const o of await Promise.all(observers)) {
    for (let tries = 0; tries < 20 && o.highest() < 2 * N; tries++) await o.session(1_000); // catch up
    expect(o.seen.length).toBe(2 * N);
    expect(o.seen).toEqual(Array.from({ length: 2 * N }, (_, i) => i + 1)); // I7
  }
  await fleet.stopAll();
}

describe('T25: resume with since across random reconnects and killed gateways', () => {
  it('one gateway, file store, SIGKILLed and restarted', async () => {
    const config = path.join(box.sb.cwd, 'bots.yaml');
    await fsp.writeFile(config, ['agents: { assistant: { model: echo } }', 'gateway:', '  allow_loopback_without_auth: true', '  limits: { messages_per_minute: 1000000, burst: 100000 }', `  session: { persist: true, max_messages: ${2 * N + 10} }`, ''].join('\n'));
    const fleet = new GatewayFleet(box.sb, config, [await freePort()]);
    await fleet.start(0);
    await runT25(fleet);
  }, FULL ? 1_800_000 : 120_000);

  it('two gateways sharing Redis with a worker pool, one of them killed now and then', async () => {
    const env = await makeEnv({ ...names, concurrency: 4 });
    const base = await fsp.readFile(env.configPath, 'utf8');
    await fsp.writeFile(env.configPath, `${base}gateway:\n  allow_loopback_without_auth: true\n  limits: { messages_per_minute: 1000000, burst: 100000 }\n  session: { persist: true, max_messages: ${2 * N + 10} }\n`);
    startWorker('w1', env);
    startWorker('w2', env);
    const fleet = new GatewayFleet(env.sandbox, env.configPath, [await freePort(), await freePort()]);
    await Promise.all([fleet.start(0), fleet.start(1)]);
    await runT25(fleet, () => redisState(names.prefix));
  }, FULL ? 1_800_000 : 120_000);
});
