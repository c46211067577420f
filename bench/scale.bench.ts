/**
 * Scale figure: turns in flight per `bot worker` process when the model is slow (LLM-bound work
 * is concurrency, not CPU). A fake OpenAI-compatible server answers every chat request after
 * 5 s; one real `bot worker --concurrency N` runs the turns of N sessions (one message each,
 * enqueued at once from this process) against it.
 *
 * Measured: the peak number of model requests the fake server held at once (in flight), the
 * completed turns/s from the first enqueue to the last reply (ideal: N / 5 s), the worker's RSS
 * when the most requests were in flight and its peak RSS (VmHWM), and its Redis connections
 * (see tools/scale-procs.ts for how they are counted).
 *
 * Also: the turns/s this machine's cores could carry at the worker's CPU per turn (were the
 * worker alone on them), and at the whole system's CPU per turn (the worker, Redis, and this
 * process with the fake model and the ingress, all on these cores) — the most turns/s this
 * machine can run, which says whether the cores or the model's answer time limit turns/s.
 *
 * Steady state (a case written `N@delayMs~S`): the N sessions' first messages are spread evenly
 * over the first answer time, as independent users' would be, and each session sends its next
 * message when its reply arrives, for S seconds; turns/s counts the replies from two answer
 * times in until sending stops. The other cases send every first message at once, so their
 * turns/s also pays for starting N turns together and finishing them together.
 *
 * BENCH_SCALE_CASES: comma-separated `N@delayMs[~S]` runs (default
 * "1000@5000,5000@5000,5000@25000,5000@5000~40": the third is a case the CPU can carry, turns/s
 * ≈ N / delay; the last the steady state); or BENCH_SCALE_N (comma-separated
 * concurrencies) with BENCH_SCALE_DELAY_MS (the model's answer time, default 5000);
 * BENCH_SCALE_ROUNDS: turns per session, each sent when the previous reply arrives (default 1);
 * BENCH_SCALE_WORKER_ARGS: extra `bot worker` options.
 * BENCH_SCALE_TRACE=1 prints what the fake model holds every 250 ms; BENCH_SCALE_WORKER_LOG=<file>
 * keeps the worker's log.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TurnRequest } from '../src/core/turn-queue.js';
import { BullMQTurnQueue } from '../src/queue/bullmq-turn-queue.js';
import { OutboxConsumer } from '../src/queue/outbox-consumer.js';
import { connectRedis } from '../src/redis/redis-connection.js';
import { startFakeOpenAI } from '../test/helpers/fake-openai-server.js';
import { stop, waitFor, type Proc } from './tools/cli-procs.js';
import { deleteKeys } from './tools/redis-keys.js';
import type { Report } from './tools/report.js';
import { cpuSplitOf, machineCpuOf, peakRssBytes, redisConnectionsOf, redisCpuOf, rssBytes } from './tools/scale-procs.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 1);
/** Extra `bot worker` options, e.g. "--lease-ttl 30000 --lock-duration 60000". */
const WORKER_ARGS = (process.env.BENCH_SCALE_WORKER_ARGS ?? '').split(' ').filter(Boolean);
interface ScaleCase {
  n: number;
  delayMs: number;
  /** Steady state: run this many seconds with the sessions' messages spread out (see top). */
  steadyS?: number;
}
const CASES: ScaleCase[] = process.env.BENCH_SCALE_N
  ? process.env.BENCH_SCALE_N.split(',').map((n) => ({ n: Number(n), delayMs: Number(process.env.BENCH_SCALE_DELAY_MS ?? 5_000) }))
  : (process.env.BENCH_SCALE_CASES ?? '1000@5000,5000@5000,5000@25000,5000@5000~40').split(',').map((c) => {
      const [size, steady] = c.split('~');
      const [n, delayMs] = size!.split('@').map(Number);
      return { n: n!, delayMs: delayMs ?? 5_000, ...(steady ? { steadyS: Number(steady) } : {}) };
    });
/** Targets of the figure at its largest size. */
const TARGET = { inFlight: 5_000, rssBytes: 1024 ** 3, redisConnections: 20 } as const;

export async function benchScale(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-scale-'));
  try {
    for (const scaleCase of CASES) await scaleRun(dir, scaleCase, report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `bot <args>` with its log (stderr) going straight to `logFile`, as an operator's log file
 * would: the worker logs synchronously, and a pipe to this busy process would stall it whenever
 * the pipe is full. Node flags for profiling the worker come from BENCH_WORKER_NODE_ARGS
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
function spawnWorker(home: string, logFile: string, args: string[], env: Record<string, string>): Proc {
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    cwd: home,
    env: { ...process.env, HOME: home, ...env },
    // stdout too: Node's --trace-gc writes there.
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  // The last 20 000 characters of the log, read when asked.
  const tail = () => {
    const text = readFileSync(logFile, 'utf8');
    return text.slice(-20_000);
  };
  return { child, stderr: tail };
}

function request(sessionId: string, messageId: string): TurnRequest {
  return {
    sessionId,
    agent: 'assistant',
    inbound: { platform: 'bench', botId: 'bench', chatId: sessionId, userId: sessionId, messageId, text: `hello ${messageId}`, isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

async function scaleRun(dir: string, { n, delayMs, steadyS }: ScaleCase, report: Report): Promise<void> {
  // Its turns/s counts replies from two answer times in: the run must last longer than that.
  if (steadyS !== undefined && steadyS * 1000 <= 2 * delayMs) throw new Error(`bench: a steady case must run longer than two answer times (${(2 * delayMs) / 1000} s); got ~${steadyS}`);
  const prefix = `bench-scale-${randomUUID().slice(0, 8)}`;
  const queueName = `turns-${prefix}`;
  const configFile = path.join(dir, `${prefix}.yaml`);
  await writeFile(
    configFile,
    [
      'agents: { assistant: { model: fake-model, max_history: 20 } }',
      `store: { backend: redis, url: "${REDIS_URL}", prefix: ${prefix}, max_messages: 100 }`,
      `queue: { backend: bullmq, name: ${queueName} }`,
      'log: { level: warn }',
    ].join('\n'),
  );
  const fake = await startFakeOpenAI({
    replyDelayMs: delayMs,
    keepRequests: 0,
    backlog: 8192,
    // Like a hosted endpoint (Node's own 5 s would race the worker's connection reuse).
    keepAliveTimeoutMs: 65_000,
    responder: () => 'ok',
  });
  const client = connectRedis(REDIS_URL);
  const ingress = new BullMQTurnQueue({ client, prefix, queueName });
  const sent = new Map<string, number>(); // session → turns sent
  const rounds = steadyS ? Infinity : ROUNDS;
  let sending = true; // a steady run stops sending after steadyS seconds
  let sentTotal = 0;
  const finals: number[] = [];
  let failed = 0;
  const next = (sessionId: string) => {
    const k = (sent.get(sessionId) ?? 0) + 1;
    sent.set(sessionId, k);
    sentTotal++;
    return ingress.enqueue(request(sessionId, `${sessionId}-m${k}`));
  };
  const consumer = new OutboxConsumer({
    client,
    prefix,
    botId: 'bench',
    delivery: {
      final: (r) => {
        finals.push(performance.now());
        // Closed loop: the session's next message follows the reply to its latest one (a turn
        // run again after a lost lease answers an older message: that starts nothing).
        const id = r.request.sessionId;
        const latest = r.request.inbound.messageId === `${id}-m${sent.get(id) ?? 0}`;
        if (sending && latest && (sent.get(id) ?? 0) < rounds) void next(id).catch(() => failed++);
      },
      failed: () => void failed++,
    },
  });
  await consumer.start();
  // The worker's turn lines (info) are what an operator runs with.
  const logFile = process.env.BENCH_SCALE_WORKER_LOG ?? path.join(dir, `${prefix}.log`);
  const worker = spawnWorker(dir, logFile, ['--config', configFile, 'worker', '--concurrency', String(n), ...WORKER_ARGS], {
    LOG_LEVEL: 'info',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'bench-key',
    BOT_MODEL: '',
  });
  try {
    await waitFor(() => worker.child.exitCode !== null || worker.stderr().includes('worker ready'), 30_000, 'worker ready', worker);
    if (worker.child.exitCode !== null) throw new Error(`bench: worker exited ${worker.child.exitCode}\n${worker.stderr().slice(-3000)}`);
    const pid = worker.child.pid!;
    const cpuBefore = await cpuSplitOf(pid);
    const [machineBefore, redisBefore, benchBefore] = [await machineCpuOf(), await redisCpuOf(client), process.cpuUsage()];
    const startedAt = performance.now();
    const sessions = Array.from({ length: n }, (_, i) => `scale${i}`);
    let i = 0;
    if (steadyS) {
      // The sessions' first messages spread evenly over the first answer time, as independent
      // users' would be; from then on each sends its next message on its reply.
      setTimeout(() => (sending = false), steadyS * 1000);
      while (i < n) {
        const due = Math.min(n, Math.ceil(((performance.now() - startedAt) / delayMs) * n));
        while (i < due) void next(sessions[i++]!).catch(() => failed++);
        await new Promise((r) => setTimeout(r, 10));
      }
    } else {
      // Enqueue like many ingress connections at once (64 in flight).
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (i < sessions.length) await next(sessions[i++]!);
      }));
    }
    // Sample what the worker holds while the most requests are in flight.
    let connections = 0;
    let peakSample = 0;
    let rssAtPeak = 0;
    const deadline = startedAt + (steadyS ? steadyS * 1000 : ROUNDS * delayMs) + 120_000;
    // A steady run ends once sending has stopped and every message sent is answered.
    const expected = () => (steadyS ? (sending ? Infinity : sentTotal) : n * ROUNDS);
    while (finals.length + failed < expected()) {
      if (performance.now() > deadline) throw new Error(`bench: ${finals.length}/${sentTotal} turns after ${Math.round((performance.now() - startedAt) / 1000)} s\n${worker.stderr().slice(-3000)}`);
      if (worker.child.exitCode !== null) throw new Error(`bench: worker exited ${worker.child.exitCode}\n${worker.stderr().slice(-3000)}`);
      const inFlight = fake.stats().inFlight;
      // Only at a new peak: reading the worker's thousands of fds is the bench's own CPU, which
      // the whole system's CPU per turn below should not count more than a few times.
      if (inFlight > peakSample) {
        peakSample = inFlight;
        rssAtPeak = await rssBytes(pid);
        connections = Math.max(connections, await redisConnectionsOf(pid, client, REDIS_URL));
      }
      if (process.env.BENCH_SCALE_TRACE) process.stderr.write(`t=${((performance.now() - startedAt) / 1000).toFixed(1)} s in flight ${inFlight}, finals ${finals.length}, answered ${fake.stats().completed}, rss ${Math.round((await peakRssBytes(pid)) / 2 ** 20)} MiB\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const elapsedS = (finals.at(-1)! - startedAt) / 1000;
    const rss = await peakRssBytes(pid);
    const cpuAfter = await cpuSplitOf(pid);
    const [machineAfter, redisAfter, benchCpu] = [await machineCpuOf(), await redisCpuOf(client), process.cpuUsage(benchBefore)];
    const kernelCpu = cpuAfter.kernel - cpuBefore.kernel;
    const cpu = cpuAfter.user - cpuBefore.user + kernelCpu;
    const { peakInFlight } = fake.stats();
    const label = `worker --concurrency ${n}, model answers in ${delayMs / 1000} s${steadyS ? ', steady' : ''}`;
    const atTarget = n >= TARGET.inFlight;
    report.add({
      name: `model requests in flight at once, ${label}`,
      value: peakInFlight,
      unit: 'requests',
      target: atTarget ? `≥ ${TARGET.inFlight}` : `= ${n}`,
      pass: peakInFlight >= n,
      // More model requests than turns: turns run again, after a lost lease (leaseLostTurns) or a failed request.
      extra: { failedTurns: failed, modelRequests: fake.stats().completed, leaseLostTurns: readFileSync(logFile, 'utf8').split('"outcome":"lease_lost"').length - 1 },
    });
    const ideal = n / (delayMs / 1000);
    /** CPU seconds spent over the run → ms per completed turn, one decimal. */
    const perTurnMs = (seconds: number) => Math.round((seconds / finals.length) * 1e4) / 10;
    // Steady: the replies from one answer time after the last first message until sending stopped.
    const window = steadyS ? { from: startedAt + 2 * delayMs, to: startedAt + steadyS * 1000 } : undefined;
    const steadyRate = window ? finals.filter((t) => t >= window.from && t < window.to).length / ((window.to - window.from) / 1000) : 0;
    report.add({
      name: window
        ? `turns/s, ${label}: first messages spread over ${delayMs / 1000} s, each next one sent on its reply, replies from ${(2 * delayMs) / 1000} s to ${steadyS} s`
        : `completed turns/s, ${label}, ${ROUNDS} turn(s) per session`,
      value: window ? steadyRate : finals.length / elapsedS,
      unit: 'turns/s',
      target: `ideal ${Math.round(ideal)} (N / ${delayMs / 1000} s)`,
      extra: { turns: finals.length, elapsedS: Math.round(elapsedS * 10) / 10, workerCpuS: Math.round(cpu * 10) / 10, workerCpuMsPerTurn: perTurnMs(cpu), ofWhichKernelMs: perTurnMs(kernelCpu) },
    });
    const cpuPerTurnS = cpu / finals.length;
    report.add({
      name: `turns/s this machine's ${os.cpus().length} cores could carry at the worker's CPU per turn, ${label}`,
      value: os.cpus().length / cpuPerTurnS,
      unit: 'turns/s',
      target: `${Math.round(ideal)} needed`,
      extra: { workerCpuMsPerTurn: perTurnMs(cpu), loadAverage: os.loadavg()[0]!.toFixed(1) },
    });
    // The whole system's CPU per turn: the worker, Redis, and this process (the fake model, the
    // ingress and the outbox reader). Cores ÷ that is the most turns/s this machine can run,
    // however the worker is built; machineBusyPercent is the share of the cores used meanwhile.
    const machineBusy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total);
    const benchCpuS = (benchCpu.user + benchCpu.system) / 1e6;
    const systemCpuPerTurnS = (cpu + (redisAfter - redisBefore) + benchCpuS) / finals.length;
    report.add({
      name: `turns/s this machine's ${os.cpus().length} cores could carry at the whole system's CPU per turn (worker + Redis + model + ingress), ${label}`,
      value: os.cpus().length / systemCpuPerTurnS,
      unit: 'turns/s',
      target: `${Math.round(ideal)} needed`,
      extra: {
        systemCpuMsPerTurn: Math.round(systemCpuPerTurnS * 1e4) / 10,
        workerCpuMsPerTurn: perTurnMs(cpu),
        redisCpuMsPerTurn: perTurnMs(redisAfter - redisBefore),
        benchCpuMsPerTurn: perTurnMs(benchCpuS),
        machineBusyPercent: Math.round(machineBusy * 100),
        loadAverage: os.loadavg()[0]!.toFixed(1),
      },
    });
    report.add({
      name: `worker RSS at the most requests in flight (${peakSample}), ${label}`,
      value: rssAtPeak / 1024 ** 2,
      unit: 'MiB',
      ...(atTarget ? { target: '< 1024 MiB', pass: rssAtPeak < TARGET.rssBytes } : {}),
      extra: { peakRssMiB: Math.round(rss / 1024 ** 2) },
    });
    report.add({
      name: `worker Redis connections, ${label}`,
      value: connections,
      unit: 'connections',
      target: `≤ ${TARGET.redisConnections}`,
      pass: connections <= TARGET.redisConnections,
    });
  } finally {
    await stop(worker);
    await consumer.close();
    await ingress.close();
    await fake.close();
    await deleteKeys(client, prefix);
    client.disconnect();
  }
}
