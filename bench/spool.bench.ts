/**
 * The inbound spool's cost (`node dist/bench/run.js spool`, shared Redis at REDIS_URL or
 * 127.0.0.1:6379):
 * - healthy path: CPU time per enqueue through SpoolingTurnQueue over the real BullMQ queue,
 *   against the same queue enqueued directly, in paired blocks of the same run (after a warm-up
 *   block each, the order alternating): the median of the per-pair ratios;
 * - outage: the BullMQ queue's client points at a port nothing listens on (the queue refuses at
 *   once, as with Redis down): spooled messages, one at a time (fdatasync each) and 64 in flight;
 * - recovery: the spooled backlog forwarded into Redis, messages/s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { TurnQueue, TurnRequest } from '../src/core/turn-queue.js';
import { isQueueRefusal } from '../src/host/queue-refusal.js';
import { BullMQTurnQueue } from '../src/queue/bullmq-turn-queue.js';
import { SpoolingTurnQueue } from '../src/queue/inbound-spool.js';
import { FileIntake } from '../src/queue/intake-log.js';
import { connectRedis } from '../src/redis/redis-connection.js';
import { createProcessLock } from '../src/sessions/process-lock.js';
import { median, percentile, timeMs, type Report } from './tools/report.js';

const BLOCK = 500;
const BLOCKS = 16;
const SEQUENTIAL = 500;
const CONCURRENT = 4000;
const IN_FLIGHT = 64;
const SESSIONS = 50;

let serial = 0;
function request(tag: string): TurnRequest {
  const i = serial++;
  return {
    sessionId: `bench_spool_${i % SESSIONS}`,
    agent: 'assistant',
    inbound: { platform: 'discord', botId: `bench-${tag}`, chatId: String(i % SESSIONS), userId: String(i % SESSIONS), messageId: String(i), text: `message ${i} `.padEnd(120, '.'), isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export async function benchSpool(report: Report): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-spool-${process.pid}`;
  const client = connectRedis(url);
  await client.ping();
  // Nothing listens on port 1: the client never becomes ready, so the queue refuses at once.
  const deadClient = connectRedis('redis://127.0.0.1:1', { retryStrategy: () => 1000 });
  deadClient.on('error', () => undefined);
  const live = new BullMQTurnQueue({ client, prefix, queueName: `${prefix}-q` });
  const dead = new BullMQTurnQueue({ client: deadClient, prefix, queueName: `${prefix}-q` });
  dead.queue.on('error', () => undefined);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-spool-'));
  let target: TurnQueue = live;
  const switchable: TurnQueue = { enqueue: (r) => target.enqueue(r), close: async () => undefined };
  const spool = new SpoolingTurnQueue({ inner: switchable, intake: new FileIntake({ dir, lock: createProcessLock() }), refused: isQueueRefusal, retryMs: { initial: 50, max: 200 } });
  try {
    // Healthy path: alternate blocks so load changes hit both alike; compare CPU per enqueue.
    for (const q of [live, spool]) for (let i = 0; i < BLOCK; i++) await q.enqueue(request('healthy')); // warm-up, not counted
    const ratios: number[] = [];
    const cpu = { direct: 0, spool: 0 };
    for (let b = 0; b < BLOCKS; b++) {
      const block = { direct: 0, spool: 0 };
      for (const via of b % 2 === 0 ? (['direct', 'spool'] as const) : (['spool', 'direct'] as const)) {
        const q: TurnQueue = via === 'direct' ? live : spool;
        const c0 = cpuUs();
        for (let i = 0; i < BLOCK; i++) await q.enqueue(request('healthy'));
        block[via] = cpuUs() - c0;
        cpu[via] += block[via];
      }
      ratios.push(block.spool / block.direct);
    }
    const n = BLOCK * BLOCKS;
    const ratio = median(ratios);
    report.add({
      name: 'spool: CPU per enqueue, healthy queue, through the spool ÷ direct (median of paired blocks)',
      value: ratio,
      unit: '×',
      target: '≤ 1.1',
      pass: ratio <= 1.1,
      extra: { spoolUs: Math.round((cpu.spool / n) * 10) / 10, directUs: Math.round((cpu.direct / n) * 10) / 10, enqueues: n },
    });

    // Outage: every message is spooled.
    target = dead;
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) latencies.push(await timeMs(() => spool.enqueue(request('down'))));
    report.add({ name: 'spool: spooled message, one at a time (p50, fdatasync)', value: median(latencies), unit: 'ms', target: 'reported' });
    report.add({ name: 'spool: spooled message, one at a time (p99)', value: percentile(latencies, 99), unit: 'ms', target: 'reported' });
    const t0 = performance.now();
    let left = CONCURRENT;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (left-- > 0) await spool.enqueue(request('down'));
      }),
    );
    const spoolRate = CONCURRENT / ((performance.now() - t0) / 1000);
    report.add({ name: `spool: spooled messages/s, ${IN_FLIGHT} in flight`, value: spoolRate, unit: 'msg/s', target: 'reported' });

    // Recovery: the backlog forwarded into Redis.
    const backlog = spool.depth('bench-down');
    target = live;
    const t1 = performance.now();
    while (spool.depth('bench-down') > 0) await new Promise((r) => setTimeout(r, 5));
    const forwardRate = backlog / ((performance.now() - t1) / 1000);
    report.add({ name: 'spool: backlog forwarded to the queue once it accepts', value: forwardRate, unit: 'msg/s', target: 'reported', extra: { backlog } });
  } finally {
    await spool.close();
    await live.close();
    await dead.close();
    await deleteKeys(client, prefix);
    client.disconnect();
    deadClient.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
