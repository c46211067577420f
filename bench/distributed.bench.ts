/**
 * Distributed-mode figures (issue: scale out), measured against the same Redis in one run:
 * raw BullMQ no-op jobs/s as the yardstick, end-to-end turns/s through `bot worker` processes
 * (1 and 2) with the echo model, one hot session, host-added latency at half the maximum
 * throughput (and what the worker promotes to the old generation meanwhile, tools/gc-trace.ts),
 * and Redis commands per turn (INFO commandstats before/after).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { TurnRequest, TurnResult } from '../src/core/turn-queue.js';
import { BullMQTurnQueue } from '../src/queue/bullmq-turn-queue.js';
import { connectRedis } from '../src/redis/redis-connection.js';
import { OutboxConsumer } from '../src/queue/outbox-consumer.js';
import { GC_TRACE_ARGS, GcTrace } from './tools/gc-trace.js';
import { latencyFloor } from './tools/latency-floor.js';
import { deleteKeys } from './tools/redis-keys.js';
import { openLoop, percentile, rate, type Report } from './tools/report.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const RAW_BULLMQ = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tools', 'raw-bullmq.js');
const CONCURRENCY = 10;

interface Run {
  prefix: string;
  queueName: string;
  configFile: string;
  client: Redis;
  subscriber: Redis;
  ingress: BullMQTurnQueue;
  finals: Map<string, number>;
  /** When each turn was committed (the worker's clock, epoch ms). */
  commits: Map<string, number>;
  onFinal?: (r: TurnResult, at: number) => void;
  workers: ChildProcess[];
  /** What each worker promotes to the old generation (see tools/gc-trace.ts). */
  gc: GcTrace[];
  close(): Promise<void>;
}

async function openRun(dir: string): Promise<Run> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const queueName = `turns-${prefix}`;
  const configFile = path.join(dir, `${prefix}.yaml`);
  await writeFile(
    configFile,
    [
      'agents: { assistant: { model: echo, max_history: 20 } }',
      `store: { backend: redis, url: "${REDIS_URL}", prefix: ${prefix}, max_messages: 1000 }`,
      `queue: { backend: bullmq, concurrency: ${CONCURRENCY}, name: ${queueName} }`,
      'log: { level: warn }',
    ].join('\n'),
  );
  const client = connectRedis(REDIS_URL);
  const subscriber = client.duplicate();
  const ingress = new BullMQTurnQueue({ client, prefix, queueName });
  const run: Run = {
    prefix,
    queueName,
    configFile,
    client,
    subscriber,
    ingress,
    finals: new Map(),
    commits: new Map(),
    workers: [],
    gc: [],
    async close() {
      // SIGTERM: workers drain and exit (and write a CPU profile when asked to).
      await Promise.all(
        run.workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.exitCode !== null) return resolve();
              const t = setTimeout(() => w.kill('SIGKILL'), 10_000);
              w.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              w.kill('SIGTERM');
            }),
        ),
      );
      await consumer.close();
      await ingress.close();
      await deleteKeys(client, prefix);
      subscriber.disconnect();
      client.disconnect();
    },
  };
  // The bench process is the bot's ingress: it consumes the bot's outbox like an adapter's process.
  const consumer = new OutboxConsumer({ client, prefix, botId: 'bench', delivery: {
    final: (r) => {
      const at = performance.now();
      // A latency phase keeps only what it measures: this process is the ingress, and a heap
      // that grows with every turn ever run would slow its GCs and be in the figure.
      if (run.onFinal) return run.onFinal(r, at);
      run.finals.set(r.request.inbound.messageId, at);
      if (r.committedAt !== undefined) run.commits.set(r.request.inbound.messageId, r.committedAt);
    },
    failed: (req, message) => {
      process.stderr.write(`bench turn failed: ${req.sessionId}: ${message}\n`);
    },
  } });
  await consumer.start();
  return run;
}

function request(sessionId: string, messageId: string): TurnRequest {
  return {
    sessionId,
    agent: 'assistant',
    inbound: { platform: 'bench', botId: 'bench', chatId: sessionId, userId: sessionId, messageId, text: `hello ${messageId}`, isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

async function startWorkers(run: Run, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, () => {
      const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const spawnedAt = performance.now();
      const child = spawn(process.execPath, [...GC_TRACE_ARGS, ...nodeArgs, CLI, '--config', run.configFile, 'worker', '--concurrency', String(CONCURRENCY)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'info', OPENAI_BASE_URL: '', OPENAI_API_KEY: '', BOT_MODEL: '', },
      });
      run.workers.push(child);
      run.gc.push(new GcTrace(child, spawnedAt, Boolean(process.env.BENCH_WORKER_STDOUT)));
      return new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d: Buffer) => {
          err += d;
          if (err.includes('worker ready')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${err.slice(-500)}`)));
      });
    }),
  );
}

/** Enqueue with a bounded number in flight, like many ingress connections would. */
async function enqueueAll(run: Run, requests: TurnRequest[], inFlight = 64): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (i < requests.length) await run.ingress.enqueue(requests[i++]!);
    }),
  );
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A phase starts: the previous phases' finals are not needed any more. */
function forgetFinals(run: Run): void {
  run.finals.clear();
  run.commits.clear();
}

/** Raw BullMQ no-op jobs/s at CONCURRENCY, in a process of its own (see tools/raw-bullmq.ts). */
async function rawBullMQ(): Promise<number> {
  const child = spawn(process.execPath, [RAW_BULLMQ, REDIS_URL, String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const rate = (JSON.parse(out.trim() || '{}') as { jobsPerS?: number }).jobsPerS;
  if (code !== 0 || rate === undefined) throw new Error(`raw BullMQ yardstick exited ${code}: ${out.slice(-300)}`);
  return rate;
}

/** CPU seconds (user + system) so far of each side of a run: this process, the workers, Redis. */
async function cpuSeconds(run: Run): Promise<{ ingress: number; workers: number; redis: number }> {
  const own = process.cpuUsage();
  let workers = 0;
  for (const w of run.workers) {
    // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks (100 per second on Linux).
    const fields = (await readFile(`/proc/${w.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    workers += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  const info = await run.client.info('cpu');
  const redis = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  return { ingress: (own.user + own.system) / 1e6, workers, redis };
}

type CpuPerTurn = { ingress: number; worker: number; redis: number };

/**
 * CPU µs per turn of each process while `body` runs `turns` turns. Steadier than turns/s on a
 * shared machine (time spent waiting for a core is not in it): the figure to compare changes by.
 */
async function cpuPerTurn(run: Run, turns: number, body: () => Promise<void>): Promise<CpuPerTurn> {
  const before = await cpuSeconds(run);
  await body();
  const after = await cpuSeconds(run);
  const us = (k: keyof typeof after) => ((after[k] - before[k]) / turns) * 1e6;
  return { ingress: us('ingress'), worker: us('workers'), redis: us('redis') };
}

function reportCpu(report: Report, workload: string, cpu: CpuPerTurn): void {
  report.add({
    name: `CPU per turn, ingress + worker + Redis, ${workload}`,
    value: cpu.ingress + cpu.worker + cpu.redis,
    unit: 'µs',
    extra: { ingressUs: Math.round(cpu.ingress), workerUs: Math.round(cpu.worker), redisUs: Math.round(cpu.redis) },
  });
}

async function redisReads(client: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await client.info('stats'))?.[1] ?? NaN);
}

/** Turns/s when each of 5000 sessions gets one message (enqueued 64 at a time while the worker runs). */
async function singleTurnMax(run: Run, report: Report): Promise<number> {
  forgetFinals(run);
  const reqs = Array.from({ length: 5000 }, (_, i) => request(`one${i}`, `one-${i}`));
  const cpu = await cpuPerTurn(run, reqs.length, async () => {
    await enqueueAll(run, reqs);
    await waitFor(() => reqs.every((r) => run.finals.has(r.inbound.messageId)), 300_000, 'single-turn kicks');
  });
  reportCpu(report, 'every turn its own kick', cpu);
  return rate(reqs.map((r) => run.finals.get(r.inbound.messageId)!));
}

async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/**
 * BENCH_ONLY=hot runs only the hot session; BENCH_ONLY=throughput only the one-worker turns/s (no
 * yardstick); BENCH_ONLY=latency only the latency runs
 * (BENCH_LATENCY_AT=<turns/s> skips measuring the maximum and takes half of twice that). For
 * profiling a worker: BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or
 * "--trace-gc", with BENCH_WORKER_STDOUT=1 to see what the worker prints). To find what stalls
 * slow turns: STALL_LOG_FILE with "--import ./dist/bench/tools/stall-log.js" (here and in
 * BENCH_WORKER_NODE_ARGS), and BENCH_TURNS_FILE for every latency turn (see tools/stall-log.ts).
 */
export async function benchDistributed(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-dist-'));
  const only = process.env.BENCH_ONLY;
  try {
    if (only === 'throughput') {
      await withRun(dir, 1, async (run) => reportTurns(report, await throughput(run, 1, report), 1, NaN));
      return;
    }
    if (only === 'latency') {
      await withRun(dir, 1, (run) => latencyRuns(run, NaN, report));
      return;
    }
    if (only !== 'hot') {
      // The yardstick is measured right before and right after the one-worker run and averaged:
      // on this shared machine a single 3-second burst swings by ±15 % from minute to minute.
      const before = await rawBullMQ();
      let raw = NaN;
      await withRun(dir, 1, async (run) => {
        const turns = await throughput(run, 1, report);
        const after = await rawBullMQ();
        raw = (before + after) / 2;
        report.add({ name: `raw BullMQ no-op jobs/s, concurrency ${CONCURRENCY}, one process (mean of before and after)`, value: raw, unit: 'jobs/s', target: 'yardstick (anchor ~16k)', extra: { before: Math.round(before), after: Math.round(after) } });
        reportTurns(report, turns, 1, raw);
        await latencyRuns(run, turns, report);
      });
      await withRun(dir, 2, async (run) => reportTurns(report, await throughput(run, 2, report), 2, raw));
    }
    await hotSession(dir, report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function withRun<T>(dir: string, workers: number, body: (run: Run) => Promise<T>): Promise<T> {
  const run = await openRun(dir);
  try {
    await startWorkers(run, workers);
    return await body(run);
  } finally {
    await run.close();
  }
}

const SESSIONS = 1000;
const PER_SESSION = 10;

function reportTurns(report: Report, turns: number, workers: number, raw: number): void {
  report.add({
    name: `turns/s, echo model, ${SESSIONS} sessions × ${PER_SESSION}, ${workers} worker process(es)`,
    value: turns,
    unit: 'turns/s',
    target: workers === 1 ? `≥ 50% of raw BullMQ (${Math.round(raw / 2)})` : 'reported',
    ...(workers === 1 ? { pass: turns >= raw / 2 } : {}),
    extra: { ratioToRawBullMQ: Math.round((turns / raw) * 1000) / 1000 },
  });
}

/** 1000 sessions × 10 turns through the run's workers; turns/s (and, for one worker, Redis work per turn). */
async function throughput(run: Run, workers: number, report: Report): Promise<number> {
  forgetFinals(run);
  const reqs: TurnRequest[] = [];
  for (let m = 0; m < PER_SESSION; m++) for (let s = 0; s < SESSIONS; s++) reqs.push(request(`s${s}`, `s${s}-m${m}`));
  const before = await commandCalls(run.client);
  const readsBefore = await redisReads(run.client);
  const cpu = await cpuPerTurn(run, reqs.length, async () => {
    await enqueueAll(run, reqs);
    await waitFor(() => run.finals.size >= reqs.length, 300_000, 'turns');
  });
  const turns = rate(run.finals.values());
  if (workers !== 1) return turns;
  reportCpu(report, `${SESSIONS} sessions × ${PER_SESSION}`, cpu);
  const after = await commandCalls(run.client);
  let total = 0;
  const per: Record<string, number> = {};
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0);
    if (d > 0) {
      total += d;
      per[cmd] = Math.round((d / reqs.length) * 100) / 100;
    }
  }
  report.add({ name: 'Redis commands per turn (all processes, incl. BullMQ, Lua-internal calls)', value: total / reqs.length, unit: 'cmds', extra: { perCommand: per } });
  // Redis counts a read per socket read: a pipelined batch is one. Other clients of a
  // shared Redis are in it too.
  report.add({ name: 'Redis socket reads per turn (≈ round trips, all processes)', value: ((await redisReads(run.client)) - readsBefore) / reqs.length, unit: 'reads' });
  return turns;
}

/**
 * The latency workload sends one message per session at a time, so every turn is its own
 * kick; its maximum is lower than the 10-per-session figure (where one kick drains ten turns).
 * "Half max" is measured against the same workload's maximum; `tenPerSessionMax` (NaN: skip)
 * adds the older figure at half of that one.
 */
async function latencyRuns(run: Run, tenPerSessionMax: number, report: Report): Promise<void> {
  const fixed = Number(process.env.BENCH_LATENCY_AT);
  const single = fixed > 0 ? fixed * 2 : await singleTurnMax(run, report);
  report.add({ name: 'turns/s, echo model, 5000 sessions × 1 (every turn its own kick), 1 worker', value: single, unit: 'turns/s', target: 'the latency workload\'s maximum' });
  await latencyAt(run, single / 2, 'half max', report);
  const floor = await latencyFloor(REDIS_URL, single / 2, Math.min(10_000, Math.round(single * 2)));
  report.add({
    name: `latency floor of this machine: 4 round trips across 3 processes, no host code, p99 at ${Math.round(single / 2)}/s`,
    value: floor.p99,
    unit: 'ms',
    target: 'yardstick for the p99 above',
    extra: { p50: Math.round(floor.p50 * 1000) / 1000, overTarget: floor.over5 },
  });
  if (tenPerSessionMax > 0) await latencyAt(run, tenPerSessionMax / 2, 'half the 10-per-session max', report);
  await latencyAt(run, Math.min(200, single / 10), 'light load', report);
}

/**
 * One hot session: 3000 messages already queued in order (one sender, back to back), then one
 * worker drains them; turns/s is the worker's per-session speed.
 */
async function hotSession(dir: string, report: Report): Promise<void> {
  const hot = await openRun(dir);
  try {
    const reqs = Array.from({ length: 3000 }, (_, i) => request('hot', `hot-${i}`));
    await enqueueAll(hot, reqs, 1);
    await startWorkers(hot, 1);
    // From the worker's start: its start-up CPU is in it, a few ms per turn's worth.
    const cpu = await cpuPerTurn(hot, reqs.length, () => waitFor(() => hot.finals.size >= reqs.length, 300_000, 'hot session turns'));
    reportCpu(report, 'one hot session (worker start-up included)', cpu);
    const r = rate(hot.finals.values());
    // Also the worker's own pace (its commit times), without the ingress's delivery behind it.
    const committed = rate(hot.commits.values());
    report.add({ name: 'one hot session, 3000 queued messages, 1 worker (delivered at the ingress)', value: r, unit: 'turns/s', target: '≥ 2000 turns/s', pass: r >= 2000, extra: { workerCommitsPerS: Math.round(committed) } });
  } finally {
    await hot.close();
  }
}

const LATENCY_TARGET_MS = 5;
/** See the promotion figure in latencyAt. */
const PROMOTED_GUARD_BYTES = 100;

/**
 * Slow turns accepted within 30 ms of the previous slow one belong to the same burst: a few
 * bursts of many turns mean a process stalled (GC, the scheduler), not a slow path per turn.
 */
function bursts(slow: [number, number][]): number {
  const at = slow.map(([t]) => t).sort((a, b) => a - b);
  return at.filter((t, i) => i === 0 || t - at[i - 1]! > 30).length;
}

/**
 * Open-loop arrivals at `target` turns/s across 1000 sessions. Latency runs from handing the
 * turn to ingress (enqueue called) to the worker's commit, which the same script step then
 * hands to delivery; the pub/sub hop to this process is not in it.
 */
async function latencyAt(run: Run, target: number, label: string, report: Report): Promise<void> {
  forgetFinals(run);
  const total = Math.min(10_000, Math.round(target * 4));
  const accepted = new Map<string, number>();
  // Each turn's [accepted at, latency], kept flat (slow ones are looked at for bursts).
  const acceptedAt = new Float64Array(total);
  const latency = new Float64Array(total);
  let measured = 0;
  run.onFinal = (r) => {
    // Both clocks are epoch-based with sub-ms precision (timeOrigin + now), in two processes.
    const id = r.request.inbound.messageId;
    const t0 = accepted.get(id);
    if (t0 === undefined || r.committedAt === undefined) return;
    accepted.delete(id);
    acceptedAt[measured] = t0;
    latency[measured++] = r.committedAt - t0;
  };
  let enqueued = 0;
  let enqueueError: unknown;
  const startedAt = performance.now();
  // This process is the ingress: its own mark-compacts stall the turns it enqueues.
  let ingressMarkCompacts = 0;
  const ingressGc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) ingressMarkCompacts++;
  });
  ingressGc.observe({ entryTypes: ['gc'] });
  await openLoop(target, total, (i) => {
    const req = request(`lat${i % 1000}`, `lat-${label}-${i}`);
    // "Accepted" = handed to ingress; the enqueue itself is host work and counts.
    accepted.set(req.inbound.messageId, performance.timeOrigin + performance.now());
    run.ingress.enqueue(req).then(() => enqueued++, (error: unknown) => (enqueueError ??= error));
  });
  await waitFor(() => enqueueError !== undefined || (enqueued >= total && measured >= total), 120_000, 'latency turns');
  if (enqueueError !== undefined) throw enqueueError;
  const gc = run.gc.map((g) => g.window(startedAt, performance.now()));
  ingressGc.disconnect();
  run.onFinal = undefined;
  const turns = Array.from(latency, (l, i): [number, number] => [acceptedAt[i]!, l]);
  const latencies = Array.from(latency);
  const slow = turns.filter(([, l]) => l > LATENCY_TARGET_MS);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  report.add({ name: `host-added latency p50 at ${Math.round(target)} turns/s (${label})`, value: p50, unit: 'ms' });
  report.add({
    name: `host-added latency p99 at ${Math.round(target)} turns/s (${label})`,
    value: p99,
    unit: 'ms',
    ...(label === 'half max' ? { target: `≤ ${LATENCY_TARGET_MS} ms`, pass: p99 <= LATENCY_TARGET_MS } : {}),
    extra: { overTarget: slow.length, bursts: bursts(slow) },
  });
  const promotedPerTurn = gc.reduce((sum, g) => sum + g.promoted, 0) / total;
  report.add({
    name: `worker bytes promoted to the old generation per turn at ${Math.round(target)} turns/s (${label})`,
    value: promotedPerTurn,
    unit: 'B',
    // A guard, not an issue target: an object per kick that the old generation keeps (the
    // a lease object held per turn: ~950 B) brings mark-compacts into the latency window.
    ...(label === 'half max' ? { target: `≤ ${PROMOTED_GUARD_BYTES} B per turn`, pass: promotedPerTurn <= PROMOTED_GUARD_BYTES } : {}),
    extra: { markCompacts: gc.reduce((sum, g) => sum + g.markCompacts, 0), ingressMarkCompacts },
  });
  // For laying the slow turns over GC pauses and other stalls (stall-log.ts): `<accepted> <latency>` per turn.
  if (process.env.BENCH_TURNS_FILE) await appendFile(process.env.BENCH_TURNS_FILE, turns.map(([t, l]) => `${label} ${t.toFixed(3)} ${l.toFixed(3)}`).join('\n') + '\n');
}
