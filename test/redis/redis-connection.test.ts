/**
 * connectRedis' write coalescing, against a private redis-server (so its read counter counts
 * only this test's traffic): commands issued in one event-loop turn reach Redis in one socket
 * read, keep their order across turns, and commands issued while Redis is down are sent once
 * it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { destroyOwnRedises, OwnRedis } from '../helpers/redis-fixtures.js';
import { waitFor } from '../helpers/wait-for.js';

/** Socket reads Redis has done so far (each INFO call adds its own). */
async function readsProcessed(client: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await client.info('stats'))?.[1]);
}

describe('connectRedis write coalescing', () => {
  let redis: OwnRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    client = connectRedis(redis.url);
    await client.ping();
  });
  afterAll(async () => {
    client.disconnect();
    await destroyOwnRedises();
  });

  it('sends the commands of one event-loop turn in one write, and awaited ones one by one', async () => {
    const before = await readsProcessed(client);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => client.echo(`same-turn-${i}`)));
    const afterBatch = await readsProcessed(client);
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `same-turn-${i}`));
    // One read for the 50 commands, one for the INFO that counts them.
    expect(afterBatch - before).toBe(2);

    for (let i = 0; i < 20; i++) await client.echo(`awaited-${i}`);
    expect((await readsProcessed(client)) - afterBatch).toBe(21);
  });

  it('keeps the order of commands across event-loop turns', async () => {
    const key = `coalesce-order-${process.pid}`;
    const seen: number[] = [];
    const pending: Promise<void>[] = [];
    for (let turn = 0; turn < 30; turn++) {
      for (let i = 0; i < 5; i++) pending.push(client.incr(key).then((n) => void seen.push(n)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(pending);
    await client.del(key);
    expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  });

  it('queues commands while Redis is down and sends them when it is back', async () => {
    await redis.stop();
    await waitFor('the client to notice Redis is gone', () => client.status !== 'ready', { timeoutMs: 5_000 });
    const queued = Promise.all([client.set(`coalesce-down-${process.pid}`, 'kept'), client.echo('while-down')]);
    await redis.launch();
    expect(await queued).toEqual(['OK', 'while-down']);
    expect(await client.get(`coalesce-down-${process.pid}`)).toBe('kept');
  });
});
