/**
 * PromptWorker starts a job as soon as it has fetched it: when several kicks wait, each starts
 * after its own `moveToActive`, not after BullMQ's loop has fetched all of them; and under
 * bursts every job still runs exactly once, never more at a time than the concurrency.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/queue/redis-connection.js';
import { PromptWorker } from '../../src/queue/prompt-worker.js';
import { deleteKeysWithPrefix, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';
import { waitFor } from '../helpers/wait-for.js';

type Processor = (job: Job<{ n: number }>) => Promise<void>;
type WorkerClass = typeof Worker<{ n: number }>;

const opened: { close(): Promise<unknown> }[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
  const admin = connectRedis(SHARED_REDIS_URL);
  for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(admin, p);
  admin.disconnect();
});

/** A queue and an idle worker of the given class; `commands` counts what the worker's own connection sends. */
async function idleWorker(Class: WorkerClass, processor: Processor, concurrency = 1) {
  const { prefix, queueName } = uniqueNames('prompt');
  prefixes.push(prefix);
  const connection = connectRedis(SHARED_REDIS_URL);
  const commands: string[] = [];
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = (command, stream) => {
    commands.push(command.name);
    return send(command, stream);
  };
  const queue = new Queue(queueName, { connection: connectRedis(SHARED_REDIS_URL), prefix });
  const worker = new Class(queueName, processor, { connection, prefix, concurrency });
  let drained = false;
  worker.on('drained', () => (drained = true));
  opened.push({ close: async () => (await worker.close(), await queue.close(), connection.disconnect()) });
  await worker.waitUntilReady();
  // Idle: its first fetch came back empty, so it now blocks on the queue's marker.
  await waitFor('the worker to find the queue empty', () => drained, { timeoutMs: 5_000 });
  await new Promise((r) => setTimeout(r, 50));
  return { queue, worker, commands };
}

/**
 * For each of five jobs added at once to an idle worker: how many script calls (fetches) its
 * connection had sent since the add when the job started.
 */
async function fetchesBeforeEachStart(Class: WorkerClass): Promise<number[]> {
  const starts: number[] = [];
  let addedAt = 0;
  const w = await idleWorker(
    Class,
    async () => {
      starts.push(w.commands.slice(addedAt).filter((name) => name === 'evalsha').length);
      // Long enough that no completion (another script call) comes between the starts.
      await new Promise((r) => setTimeout(r, 30));
    },
    8,
  );
  addedAt = w.commands.length;
  await w.queue.addBulk([1, 2, 3, 4, 5].map((n) => ({ name: 'kick', data: { n } })));
  await waitFor('the jobs to start', () => starts.length === 5, { timeoutMs: 5_000 });
  return starts;
}

describe('PromptWorker', () => {
  it('starts each job right after its own fetch, where BullMQ\'s loop first fetches all that wait', async () => {
    expect(await fetchesBeforeEachStart(PromptWorker)).toEqual([1, 2, 3, 4, 5]);
    // BullMQ's own loop (why PromptWorker exists): the first job starts at once, the others
    // only after every waiting job and one empty fetch more, six round trips after the add.
    expect(await fetchesBeforeEachStart(Worker)).toEqual([1, 6, 6, 6, 6]);
  });

  it('takes a job that arrives after a full worker emptied the queue at once, not after the block timeout', async () => {
    // A worker of concurrency 1 is full right after its fetch, so its loop stops there; the job
    // finishes with the queue empty and the worker blocks. The next job must wake it at once.
    const started = new Map<number, number>();
    const w = await idleWorker(
      PromptWorker,
      async (job) => {
        started.set(job.data.n, Date.now());
        await new Promise((r) => setTimeout(r, 30));
      },
      1,
    );
    for (let n = 1; n <= 4; n++) {
      await new Promise((r) => setTimeout(r, 50));
      const addedAt = Date.now();
      await w.queue.add('kick', { n });
      await waitFor(`job ${n} to start`, () => started.has(n), { timeoutMs: 10_000 });
      // BullMQ's block timeout (drainDelay) is 5 s: a lost wake-up would show as seconds.
      expect(started.get(n)! - addedAt).toBeLessThan(1_000);
    }
  });

  it('runs every job of bursts exactly once, never more at a time than its concurrency', async () => {
    const runs = new Map<number, number>();
    let running = 0;
    let most = 0;
    const w = await idleWorker(
      PromptWorker,
      async (job) => {
        running++;
        most = Math.max(most, running);
        runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, job.data.n % 3));
        running--;
      },
      4,
    );
    for (let burst = 0; burst < 10; burst++) {
      await w.queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'kick', data: { n: burst * 30 + i } })));
      await new Promise((r) => setTimeout(r, burst % 2 === 0 ? 0 : 20));
    }
    await waitFor('all 300 jobs to run', () => runs.size === 300 && running === 0, { timeoutMs: 20_000 });
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    expect(await w.queue.getJobCounts('waiting', 'active', 'failed')).toEqual({ waiting: 0, active: 0, failed: 0 });
  });
});
