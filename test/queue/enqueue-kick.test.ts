/**
 * The enqueue script adds a session's kick job itself, written as BullMQ's Queue.add writes a
 * job. These tests pin that layout against the installed BullMQ (a BullMQ upgrade that changes
 * it fails here, not in production), show a stock BullMQ worker runs such a kick, and that a
 * kick is added only when the session has none pending.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TurnRequest } from '../../src/core/turn-queue.js';
import { BullMQTurnQueue, type KickJobData } from '../../src/queue/bullmq-turn-queue.js';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { inboxKeys } from '../../src/queue/inbox-keys.js';
import { deleteKeysWithPrefix, openRedis, SHARED_REDIS_URL, uniqueNames } from '../helpers/redis-fixtures.js';
import { waitFor } from '../helpers/wait-for.js';

const closing: (() => Promise<unknown>)[] = [];
const prefixes: string[] = [];
let admin: Redis | undefined;

afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
  for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(admin!, p);
  admin?.disconnect();
  admin = undefined;
});

async function ingressQueue(tag: string) {
  const { prefix, queueName } = uniqueNames(tag);
  prefixes.push(prefix);
  admin = await openRedis();
  const client = await openRedis();
  const ingress = new BullMQTurnQueue({ client, prefix, queueName });
  closing.push(async () => (await ingress.close(), client.disconnect()));
  return { ingress, prefix, queueName, client };
}

/** A stock BullMQ worker on the ingress's queue, recording each job it runs. */
function stockWorker(prefix: string, queueName: string, onJob: (job: Job<KickJobData>) => void) {
  const connection = connectRedis(SHARED_REDIS_URL);
  const worker = new Worker<KickJobData>(queueName, async (job) => onJob(job), { connection, prefix: `${prefix}:bull` });
  closing.push(async () => (await worker.close(), connection.disconnect()));
  return worker;
}

function turn(sessionId: string, messageId: string): TurnRequest {
  return {
    sessionId,
    agent: 'assistant',
    inbound: { platform: 'test', botId: 'kickbot', chatId: 'c', userId: 'u', messageId, text: `hi ${messageId}`, isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

/** What a job leaves in Redis: its hash, the wait list, the marker, the meta and the events' fields. */
async function jobState(client: Redis, queue: Queue, jobId: string) {
  const hash = await client.hgetall(queue.toKey(jobId));
  const events = await client.xrange(queue.keys.events!, '-', '+');
  return {
    hash: { ...hash, opts: JSON.parse(hash.opts ?? 'null'), timestamp: Number(hash.timestamp) > 0 },
    wait: await client.lrange(queue.keys.wait!, 0, -1),
    marker: await client.zrange(queue.keys.marker!, 0, -1, 'WITHSCORES'),
    maxLenEvents: await client.hget(queue.keys.meta!, 'opts.maxLenEvents'),
    events: events.map(([, fields]) => fields),
  };
}

describe('the enqueue script adds its kick job as BullMQ does', () => {
  it('leaves the same job, wait list, marker and events as Queue.add', async () => {
    const { ingress, client } = await ingressQueue('kick-layout');
    await ingress.enqueue(turn('bot_kick_layout', 'm1'));
    const [jobId] = await client.lrange(ingress.queue.keys.wait!, 0, -1);
    expect(jobId).toMatch(/^kick-[0-9a-f-]{36}$/);
    const ours = await jobState(client, ingress.queue, jobId!);

    // The same kick through BullMQ's own Queue.add, on a queue of its own.
    const other = uniqueNames('kick-layout-bullmq');
    prefixes.push(other.prefix);
    const connection = client.duplicate();
    const queue = new Queue<KickJobData>(other.queueName, { connection, prefix: other.prefix });
    closing.push(async () => (await queue.close(), connection.disconnect()));
    await queue.add('kick', { sessionId: 'bot_kick_layout' }, { jobId, removeOnComplete: true, removeOnFail: 1000 });
    const theirs = await jobState(client, queue, jobId!);

    expect(ours).toEqual(theirs);
    expect(ours.hash).toMatchObject({ name: 'kick', data: '{"sessionId":"bot_kick_layout"}', delay: '0', priority: '0' });
    expect(ours.marker).toEqual(['0', '0']);
    expect(ours.events).toEqual([
      ['event', 'added', 'jobId', jobId, 'name', 'kick'],
      ['event', 'waiting', 'jobId', jobId],
    ]);
  });

  it('is run by a stock BullMQ worker, which removes it when done', async () => {
    const { ingress, prefix, queueName, client } = await ingressQueue('kick-run');
    const seen: Job<KickJobData>[] = [];
    stockWorker(prefix, queueName, (job) => seen.push(job));
    await ingress.enqueue(turn('bot_kick_run', 'm1'));
    await waitFor('the kick to run', () => seen.length === 1, { timeoutMs: 5_000 });
    expect(seen[0]!.name).toBe('kick');
    expect(seen[0]!.data).toEqual({ sessionId: 'bot_kick_run' });
    expect(seen[0]!.opts).toMatchObject({ removeOnComplete: true, removeOnFail: 1000 });
    await waitFor('the finished kick to be removed', async () => (await client.exists(ingress.queue.toKey(seen[0]!.id!))) === 0, { timeoutMs: 5_000 });
  });

  it('gives a paused queue the job but no marker, as Queue.add does; it runs after resume', async () => {
    const { ingress, prefix, queueName, client } = await ingressQueue('kick-paused');
    await ingress.queue.pause();
    await ingress.enqueue(turn('bot_kick_paused', 'm1'));
    expect(await client.llen(ingress.queue.keys.wait!)).toBe(1);
    expect(await client.zcard(ingress.queue.keys.marker!)).toBe(0);
    const seen: string[] = [];
    stockWorker(prefix, queueName, (job) => seen.push(job.data.sessionId));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
    await ingress.queue.resume();
    await waitFor('the kick to run after resume', () => seen.length === 1, { timeoutMs: 5_000 });
    expect(seen).toEqual(['bot_kick_paused']);
  });

  it('adds one kick per idle session: none for a second turn, a redelivery or a committed turn', async () => {
    const { ingress, client } = await ingressQueue('kick-once');
    const keys = inboxKeys(ingress.prefix, 'bot_kick_once');
    await ingress.enqueue(turn('bot_kick_once', 'm1'));
    await ingress.enqueue(turn('bot_kick_once', 'm2')); // a kick is pending
    await ingress.enqueue(turn('bot_kick_once', 'm1')); // a redelivery of a queued turn
    expect(await client.llen(ingress.queue.keys.wait!)).toBe(1);
    expect(await client.llen(keys.inbox)).toBe(2);
    // A turn the store already committed is dropped without a kick.
    await client.zadd(keys.ids, 1, 'kickbot:m0');
    await ingress.enqueue(turn('bot_kick_once', 'm0'));
    expect(await client.llen(keys.inbox)).toBe(2);
    expect(await client.llen(ingress.queue.keys.wait!)).toBe(1);
    // Another session gets its own kick.
    await ingress.enqueue(turn('bot_kick_other', 'm1'));
    expect(await client.llen(ingress.queue.keys.wait!)).toBe(2);
  });
});
