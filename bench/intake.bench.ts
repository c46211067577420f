/**
 * The embedded intake's cost (invariant I1: a turn is fdatasync'd before `enqueue` resolves),
 * measured in the file-store section's run and judged by its figures: one accepted message must
 * cost no more than one durable file-store append, and the intake must accept messages faster
 * than the file store can commit them (each turn's commit is one durable append).
 * Measured through `DurableTurnQueue.enqueue` over a real InlineTurnQueue whose turns finish at
 * once, so "done" records and file rotation are part of the figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TurnRequest } from '../src/core/turn-queue.js';
import { DurableTurnQueue } from '../src/queue/durable-turn-queue.js';
import { InlineTurnQueue } from '../src/queue/inline-turn-queue.js';
import { FileIntake } from '../src/queue/intake-log.js';
import { createProcessLock } from '../src/sessions/process-lock.js';
import { median, percentile, timeMs, type Report } from './tools/report.js';

const SEQUENTIAL = 1000;
const CONCURRENT = 8000;
const IN_FLIGHT = 64;
const SESSIONS = 50;

function request(i: number): TurnRequest {
  const text = `message ${i} `.padEnd(120, '.');
  return {
    sessionId: `bench_${i % SESSIONS}`,
    agent: 'assistant',
    inbound: { platform: 'telegram', botId: 'bench', chatId: String(i % SESSIONS), userId: String(i % SESSIONS), messageId: `${i % SESSIONS}:${i}`, text, isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

function openQueue(dir: string): DurableTurnQueue {
  const intake = new FileIntake({ dir, lock: createProcessLock() });
  const inline = new InlineTurnQueue({
    run: async (r) => ({ request: r, reply: 'ok', cursor: 1, duplicate: false }),
    delivery: { final: () => undefined, failed: () => undefined },
    concurrency: 8,
    onSettled: (r) => intake.done(r),
  });
  return new DurableTurnQueue(inline, intake);
}

/** `append`: the same run's durable file-store append latency (empty session), the yardstick. */
export async function benchIntake(report: Report, append: { p50: number; p99: number }): Promise<void> {
  const appendMedianMs = append.p50;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-intake-'));
  try {
    const queue = openQueue(dir);
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) latencies.push(await timeMs(() => queue.enqueue(request(i))));
    const p50 = median(latencies);
    const p99 = percentile(latencies, 99);
    report.add({ name: 'embedded intake: accepted message, one at a time (p50, fdatasync)', value: p50, unit: 'ms', target: `≤ file store durable append (${appendMedianMs.toFixed(3)} ms, same run)`, pass: p50 <= appendMedianMs });
    report.add({ name: 'embedded intake: accepted message, one at a time (p99)', value: p99, unit: 'ms', target: `≤ file store durable append p99 (${append.p99.toFixed(3)} ms, same run)`, pass: p99 <= append.p99 });

    // Throughput: IN_FLIGHT senders at once; group commit shares each fdatasync.
    let next = SEQUENTIAL;
    const end = SEQUENTIAL + CONCURRENT;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < end) await queue.enqueue(request(next++));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const rate = CONCURRENT / seconds;
    const commitRate = 1000 / appendMedianMs;
    report.add({
      name: `embedded intake: accepted messages/s, ${IN_FLIGHT} in flight over ${SESSIONS} sessions`,
      value: rate,
      unit: 'msg/s',
      target: `≥ durable commits/s of the file store (${Math.round(commitRate)}/s, same run)`,
      pass: rate >= commitRate,
      extra: { messages: CONCURRENT },
    });
    await queue.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
