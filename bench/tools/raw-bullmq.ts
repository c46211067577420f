/**
 * The raw BullMQ yardstick, as a child process of distributed.bench.ts: 20 000 no-op jobs queued,
 * then drained by one Worker of the given concurrency; prints the jobs/s as one JSON line.
 *
 * A process of its own, as a `bot worker` is: run inside the bench process (the ingress of the
 * latency figures) it would leave that process promoting ~2 MB per young-generation GC, with
 * 4–5 ms pauses, for the rest of the run, and those pauses would be in the latency figures.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { deleteKeys } from './redis-keys.js';
import { rate } from './report.js';

const [url, concurrency] = [process.argv[2]!, Number(process.argv[3])];
const JOBS = 20_000;

const client = connectRedis(url);
const name = `raw-${randomUUID().slice(0, 8)}`;
const prefix = `bench-raw-${name}`;
const queue = new Queue(name, { connection: client, prefix });
try {
  for (let i = 0; i < JOBS; i += 1000) {
    await queue.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })));
  }
  const done: number[] = [];
  const drained = new Promise<void>((resolve) => {
    const worker = new Worker(name, async () => undefined, { connection: client, prefix, concurrency });
    worker.on('completed', () => {
      done.push(performance.now());
      if (done.length === JOBS) void worker.close().then(resolve);
    });
  });
  await drained;
  process.stdout.write(`${JSON.stringify({ jobsPerS: rate(done) })}\n`);
} finally {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await deleteKeys(client, prefix);
  client.disconnect();
}
