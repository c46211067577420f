/**
 * What operations cost, in process:
 * - turns/s of one embedded host (echo model, memory store, inline queue, every message through
 *   the ingress chain) with metrics off and on, in alternating rounds of the same run; the
 *   figure is the relative cost of the medians;
 * - the time to serve one `/metrics` scrape (HTTP, queue depths read from Redis) with 10 000
 *   sessions in that Redis.
 */
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../src/config/load.js';
import { botPolicyOf } from '../src/core/adapter.js';
import type { InboundMessage } from '../src/core/inbound.js';
import { createHost } from '../src/host/host.js';
import { createLogger } from '../src/host/logger.js';
import { startRoleOps } from '../src/host/metrics.js';
import { Metrics } from '../src/ops/metrics.js';
import { connectRedis } from '../src/redis/redis-connection.js';
import { RedisSessionStore } from '../src/sessions/redis-session-store.js';
import { deleteKeys } from './tools/redis-keys.js';
import { median, percentile, type Report } from './tools/report.js';

const TURNS_PER_ROUND = 8_000;
const ROUNDS = 7;
const SESSIONS = 10_000;
const SCRAPES = 200;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Round {
  turnsPerSecond: number;
  /** Process CPU time (user + system) per turn: what the machine's other load disturbs least. */
  cpuMicrosPerTurn: number;
}

/** `TURNS_PER_ROUND` messages over 500 sessions, in waves of 200 in flight at once. */
/** `hooks-only`: metrics on without prom-client's process metrics (to tell the two costs apart). */
async function round(mode: 'off' | 'on' | 'hooks-only'): Promise<Round> {
  const yaml = 'agents: { assistant: { model: echo } }\nstore: { backend: memory }\nqueue: { concurrency: 64 }\n';
  const { config } = parseConfig(yaml, { env: {} });
  const metrics = mode === 'off' ? undefined : new Metrics({ defaults: mode === 'on' });
  const host = await createHost(config, { logger: createLogger('warn', 'json'), env: {}, ...(metrics ? { metrics } : {}) });
  const policy = botPolicyOf({ id: 'bench', platform: 'bench', agent: 'assistant', allowed_users: [], unknown_user_policy: 'allow', group_policy: 'respond_all' }, 'per_user');
  let done = 0;
  let wake: () => void = () => undefined;
  host.delivery.register('bench', {
    started: () => undefined,
    partial: () => undefined,
    final: () => {
      done++;
      wake();
    },
    failed: () => {
      done++;
      wake();
    },
  });
  const message = (i: number): InboundMessage => ({ platform: 'bench', botId: 'bench', chatId: `c${i % 500}`, userId: `u${i % 500}`, messageId: `${randomUUID()}`, text: `hello ${i}`, isDirect: true, mentionsBot: true, receivedAt: Date.now(), address: `c${i % 500}` });
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < TURNS_PER_ROUND; i += 200) {
    const wave = Array.from({ length: Math.min(200, TURNS_PER_ROUND - i) }, (_, j) => i + j);
    await Promise.all(
      wave.map(async (n) => {
        const outcome = await host.ingest(policy, message(n), () => Promise.resolve());
        metrics?.inbound('bench', 'bench', outcome ?? 'ignored'); // what createBot records per message
      }),
    );
    while (done < i + wave.length) await new Promise<void>((r) => (wake = r));
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (metrics) await metrics.text(); // a scrape, so nothing recorded is optimised away
  await host.close();
  return { turnsPerSecond: TURNS_PER_ROUND / seconds, cpuMicrosPerTurn: (used.user + used.system) / TURNS_PER_ROUND };
}

async function benchMetricsCost(report: Report): Promise<void> {
  await round('off'); // warm-up: JIT and module loading count for neither side
  await round('on');
  const off: Round[] = [];
  const on: Round[] = [];
  const hooksOnly: Round[] = [];
  const rounds = { off, on, 'hooks-only': hooksOnly } as const;
  for (let r = 0; r < ROUNDS; r++) {
    // A fresh order each time: whatever a round leaves behind (garbage, a cold cache) lands on a random mode.
    const order = (Object.keys(rounds) as Array<keyof typeof rounds>).sort(() => Math.random() - 0.5);
    for (const mode of order) rounds[mode].push(await round(mode));
  }
  const rate = (rs: Round[]) => median(rs.map((r) => r.turnsPerSecond));
  const cpu = (rs: Round[]) => median(rs.map((r) => r.cpuMicrosPerTurn));
  const wallCost = ((rate(off) - rate(on)) / rate(off)) * 100;
  const cpuCost = ((cpu(on) - cpu(off)) / cpu(off)) * 100;
  report.add({ name: `ops: embedded turns/s, metrics off (median of ${ROUNDS} rounds)`, value: rate(off), unit: 'turns/s', extra: { rounds: off.map((r) => Math.round(r.turnsPerSecond)) } });
  report.add({ name: `ops: embedded turns/s, metrics on (median of ${ROUNDS} rounds)`, value: rate(on), unit: 'turns/s', extra: { rounds: on.map((r) => Math.round(r.turnsPerSecond)) } });
  report.add({ name: 'ops: cost of metrics, wall-clock turns/s', value: wallCost, unit: '%', target: '< 3 %', pass: wallCost < 3 });
  report.add({ name: 'ops: CPU per embedded turn, metrics off / on', value: cpu(off), unit: 'µs', extra: { on: Math.round(cpu(on)) } });
  report.add({ name: 'ops: cost of metrics, CPU per turn', value: cpuCost, unit: '%', target: '< 3 %', pass: cpuCost < 3 });
  const hooksCost = ((cpu(hooksOnly) - cpu(off)) / cpu(off)) * 100;
  // The recording one embedded turn does, alone and many times: immune to the machine's other load.
  const m = new Metrics({ defaults: false });
  const REPS = 1_000_000;
  const record = () => {
    m.inbound('bench', 'bench', 'enqueued');
    m.stageTook('assistant', 'queue_wait', 0.001);
    m.stageTook('assistant', 'model', 0.002);
    m.stageTook('assistant', 'commit', 0.0005);
    m.stageTook('assistant', 'total', 0.003);
    m.turnEnded('assistant', 'ok');
  };
  for (let i = 0; i < REPS; i++) record();
  const t = process.cpuUsage();
  for (let i = 0; i < REPS; i++) record();
  const spent = process.cpuUsage(t);
  const recordMicros = (spent.user + spent.system) / REPS;
  report.add({ name: 'ops: recording one turn\'s metrics (6 series), CPU', value: recordMicros * 1000, unit: 'ns', extra: { percentOfEmbeddedTurn: Math.round((recordMicros / cpu(off)) * 1000) / 10 } });
  report.add({ name: 'ops: cost of the bothost_ hooks alone (no process metrics), CPU per turn', value: hooksCost, unit: '%', extra: { cpuMicrosPerTurn: Math.round(cpu(hooksOnly) * 10) / 10 } });
}

async function benchScrape(report: Report): Promise<void> {
  const prefix = `bench-ops-${randomUUID().slice(0, 8)}`;
  const redis = connectRedis(REDIS_URL);
  const store = new RedisSessionStore({ client: redis, prefix, maxMessages: 100 });
  try {
    for (let i = 0; i < SESSIONS; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => store.addMessage(`bot_bench_${i + j}`, 'user', `hello ${i + j}`)));
    }
    const yaml = `store: { backend: redis, url: "${REDIS_URL}", prefix: "${prefix}" }\nqueue: { backend: bullmq, name: "bench-ops-${prefix}" }\nmetrics: { port: 0 }\n`;
    const { config } = parseConfig(yaml, { env: {} });
    const metrics = new Metrics();
    const ops = await startRoleOps({ config, metrics, logger: createLogger('warn', 'json'), store, redis });
    const url = `${ops.server!.url}/metrics`;
    const times: number[] = [];
    for (let i = 0; i < SCRAPES + 20; i++) {
      const t = performance.now();
      const res = await fetch(url);
      await res.text();
      if (i >= 20) times.push(performance.now() - t);
    }
    await ops.close();
    const p99 = percentile(times, 99);
    report.add({ name: `ops: /metrics scrape with ${SESSIONS} sessions in Redis, p50`, value: percentile(times, 50), unit: 'ms' });
    report.add({ name: `ops: /metrics scrape with ${SESSIONS} sessions in Redis, p99 (${SCRAPES} scrapes)`, value: p99, unit: 'ms', target: '< 50 ms', pass: p99 < 50 });
  } finally {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

export async function benchOps(report: Report): Promise<void> {
  await benchMetricsCost(report);
  await benchScrape(report);
}
