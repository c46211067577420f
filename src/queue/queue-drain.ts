/**
 * `bot queue drain` / `bot queue resume` for a rolling deploy: draining pauses the BullMQ kick
 * queue, so no worker takes a new session (a session being drained finishes its inbox), while
 * ingress keeps accepting turns into inboxes — they wait, durable, until `resume`. The pause is
 * BullMQ's own flag (the `paused` field of the queue's meta hash), which the enqueue script and
 * every worker already honour; workers read it for `/readyz` (503 "draining").
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export interface QueueRef {
  redis: Redis;
  prefix: string;
  queueName: string;
}

const metaKey = (q: Omit<QueueRef, 'redis'>) => `${q.prefix}:bull:${q.queueName}:meta`;

/** True while the queue is paused by `bot queue drain`. One HEXISTS: cheap enough for every probe. */
export async function isQueueDraining(q: QueueRef): Promise<boolean> {
  return (await q.redis.hexists(metaKey(q), 'paused')) === 1;
}

export async function setQueueDraining(q: QueueRef, draining: boolean): Promise<void> {
  const bull = q.redis.duplicate();
  bull.on('error', () => undefined);
  const queue = new Queue(q.queueName, { connection: bull, prefix: `${q.prefix}:bull` });
  queue.on('error', () => undefined);
  try {
    if (draining) await queue.pause();
    else await queue.resume();
  } finally {
    await queue.close();
    bull.disconnect();
  }
}
