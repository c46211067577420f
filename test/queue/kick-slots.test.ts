/**
 * KickSlots: one BullMQ worker of concurrency 1 per slot (past 16 slots, the slots spread over
 * 16 workers). As many kicks run at once as there are slots and never more; an idle slot takes
 * a new kick while the others are busy; a kick that arrives after the queue emptied wakes a slot
 * at once; under bursts every kick runs once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, type Job } from 'bullmq';
import { KickSlots, MAX_LOOPS } from '../../src/queue/kick-slots.js';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { deleteKeysWithPrefix, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';
import { waitFor } from '../helpers/wait-for.js';

type Data = { n: number };

const opened: { close(): Promise<unknown> }[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
  const admin = connectRedis(SHARED_REDIS_URL);
  for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(admin, p);
  admin.disconnect();
});

async function idleSlots(slots: number, processor: (job: Job<Data>) => Promise<void>, maxLoops?: number) {
  const { prefix, queueName } = uniqueNames('slots');
  prefixes.push(prefix);
  const connection = connectRedis(SHARED_REDIS_URL);
  const queue = new Queue<Data>(queueName, { connection: connectRedis(SHARED_REDIS_URL), prefix });
  const pool = new KickSlots<Data>(queueName, processor, { connection, prefix, slots, ...(maxLoops ? { maxLoops } : {}) });
  opened.push({ close: async () => (await pool.close(), await queue.close(), connection.disconnect()) });
  await pool.ready();
  return { queue, pool, connection };
}

/** A processor whose jobs run until released one by one. */
function gatedJobs() {
  const started: number[] = [];
  const finished: number[] = [];
  const gates = new Map<number, () => void>();
  return {
    started,
    finished,
    release: (n: number) => gates.get(n)!(),
    processor: async (job: Job<Data>) => {
      started.push(job.data.n);
      await new Promise<void>((resolve) => gates.set(job.data.n, resolve));
      finished.push(job.data.n);
    },
  };
}

describe('KickSlots', () => {
  it('runs one kick per slot at once, and an idle slot takes a new kick while the others are busy', async () => {
    const jobs = gatedJobs();
    const { queue, pool } = await idleSlots(3, jobs.processor);
    expect(pool.workers.map((w) => w.concurrency)).toEqual([1, 1, 1]);
    // The stalled-job check is queue-wide: one slot runs it.
    expect(pool.workers.map((w) => w.opts.skipStalledCheck)).toEqual([false, true, true]);

    await queue.add('kick', { n: 1 });
    await queue.add('kick', { n: 2 });
    await waitFor('two kicks to start', () => jobs.started.length === 2, { timeoutMs: 5_000 });
    // Two slots are busy and stay busy: the third takes the next kick at once.
    const addedAt = Date.now();
    await queue.add('kick', { n: 3 });
    await waitFor('the third kick to start', () => jobs.started.length === 3, { timeoutMs: 5_000 });
    expect(Date.now() - addedAt).toBeLessThan(1_000);

    // All three slots busy: a fourth kick waits for a free slot.
    await queue.add('kick', { n: 4 });
    await new Promise((r) => setTimeout(r, 300));
    expect(jobs.started).toEqual([1, 2, 3]);
    jobs.release(2);
    await waitFor('the fourth kick to start', () => jobs.started.length === 4, { timeoutMs: 5_000 });
    expect(jobs.finished).toEqual([2]);
    for (const n of [1, 3, 4]) jobs.release(n);
    await waitFor('every kick to finish', () => jobs.finished.length === 4, { timeoutMs: 5_000 });
    expect(await queue.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({ waiting: 0, active: 0, completed: 4, failed: 0 });
  });

  it('takes a kick that arrives after the queue emptied at once, not after the block timeout', async () => {
    const started = new Map<number, number>();
    const { queue } = await idleSlots(2, async (job) => {
      started.set(job.data.n, Date.now());
      await new Promise((r) => setTimeout(r, 30));
    });
    for (let n = 1; n <= 4; n++) {
      await new Promise((r) => setTimeout(r, 50));
      const addedAt = Date.now();
      await queue.add('kick', { n });
      await waitFor(`kick ${n} to start`, () => started.has(n), { timeoutMs: 10_000 });
      // BullMQ's block timeout (drainDelay) is 5 s: a lost wake-up would show as seconds.
      expect(started.get(n)! - addedAt).toBeLessThan(1_000);
    }
  });

  it('runs every kick of bursts exactly once, never more at a time than its slots', async () => {
    const runs = new Map<number, number>();
    let running = 0;
    let most = 0;
    const { queue } = await idleSlots(4, async (job) => {
      running++;
      most = Math.max(most, running);
      runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, job.data.n % 3));
      running--;
    });
    for (let burst = 0; burst < 10; burst++) {
      await queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'kick', data: { n: burst * 30 + i } })));
      await new Promise((r) => setTimeout(r, burst % 2 === 0 ? 0 : 20));
    }
    await waitFor('all 300 kicks to run', () => runs.size === 300 && running === 0, { timeoutMs: 20_000 });
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    expect(await queue.getJobCounts('waiting', 'active', 'failed')).toEqual({ waiting: 0, active: 0, failed: 0 });
  });

  it('shares one connection among many slots without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { connection, pool } = await idleSlots(16, async () => undefined);
      expect(pool.workers).toHaveLength(16);
      expect(connection.getMaxListeners()).toBeGreaterThanOrEqual(16 * 4);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('spreads slots past the loop limit over that many loops, and still runs no more kicks at once than slots', async () => {
    const wide = await idleSlots(40, async () => undefined);
    // Default limit 16: 8 loops of 3 and 8 of 2, so 16 blocking connections for 40 slots.
    expect(wide.pool.workers).toHaveLength(MAX_LOOPS);
    expect(wide.pool.workers.map((w) => w.concurrency)).toEqual([...Array(8).fill(3), ...Array(8).fill(2)]);
    expect(wide.pool.workers.map((w) => w.opts.skipStalledCheck).filter((skip) => !skip)).toHaveLength(1);

    let running = 0;
    let most = 0;
    const runs = new Map<number, number>();
    const { queue, pool } = await idleSlots(
      5,
      async (job) => {
        running++;
        most = Math.max(most, running);
        runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      },
      2,
    );
    expect(pool.workers.map((w) => w.concurrency)).toEqual([3, 2]);
    await queue.addBulk(Array.from({ length: 60 }, (_, n) => ({ name: 'kick', data: { n } })));
    await waitFor('all 60 kicks to run', () => runs.size === 60 && running === 0, { timeoutMs: 20_000 });
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(most).toBeLessThanOrEqual(5);
    // More kicks at once than loops: a loop runs several.
    expect(most).toBeGreaterThan(2);
  });

  it('refuses a slot count that is not a positive integer', () => {
    expect(() => new KickSlots('q', async () => undefined, { connection: { host: '127.0.0.1' }, slots: 0 })).toThrow(/slots must be a positive integer/);
    expect(() => new KickSlots('q', async () => undefined, { connection: { host: '127.0.0.1' }, slots: 1.5 })).toThrow(/slots must be a positive integer/);
    expect(() => new KickSlots('q', async () => undefined, { connection: { host: '127.0.0.1' }, slots: 4, maxLoops: 0 })).toThrow(/maxLoops must be a positive integer/);
  });
});
