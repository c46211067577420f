/**
 * Distributed mode (`queue.backend: bullmq`): the Redis connections, the ingress-side queue and
 * result subscription, and the worker. One Redis serves the queue, the leases and (with
 * `store.backend: redis`) the sessions, under one key prefix.
 */
import type { Redis } from 'ioredis';
import type { TurnDeps } from '../agent/run-turn.js';
import type { Delivery, TurnQueue } from '../core/turn-queue.js';
import type { BotsConfig } from '../config/schema.js';
import { BullMQTurnQueue } from '../queue/bullmq-turn-queue.js';
import { assertQueueSafeRedis, connectRedis, REDIS_DEFAULTS } from '../queue/redis-connection.js';
import { RedisDeliveryPublisher, subscribeDelivery } from '../queue/redis-delivery.js';
import { TurnWorker, type TurnWorkerOptions } from '../queue/turn-worker.js';

export function redisUrlOf(config: BotsConfig): string {
  return config.queue.redis_url ?? process.env.REDIS_URL ?? REDIS_DEFAULTS.url;
}

/** A checked connection: reachable and `noeviction`, or a clear error. */
export async function openQueueRedis(config: BotsConfig): Promise<Redis> {
  const url = redisUrlOf(config);
  const client = connectRedis(url, { lazyConnect: true, retryStrategy: () => null });
  try {
    await client.connect();
    await assertQueueSafeRedis(client, url);
  } finally {
    client.disconnect();
  }
  return connectRedis(url);
}

export interface IngressQueue {
  queue: TurnQueue;
  close(): Promise<void>;
}

/** Enqueue into Redis; results come back over pub/sub to `delivery` (routed by bot id). */
export async function openIngressQueue(config: BotsConfig, client: Redis, delivery: Delivery): Promise<IngressQueue> {
  const prefix = config.store.prefix;
  const queue = new BullMQTurnQueue({ client, prefix, queueName: config.queue.name });
  const subscriber = client.duplicate();
  // One subscription for all bots: the router picks the adapter by the result's bot id.
  const unsubscribe = await subscribeDelivery(subscriber, prefix, '*', delivery, true);
  return {
    queue,
    async close() {
      await queue.close();
      await unsubscribe();
      subscriber.disconnect();
    },
  };
}

export function startTurnWorker(
  config: BotsConfig,
  client: Redis,
  deps: TurnDeps,
  extra: Partial<TurnWorkerOptions> = {},
): TurnWorker {
  const prefix = config.store.prefix;
  const publisher = new RedisDeliveryPublisher(client, prefix);
  return new TurnWorker({ client, deps, delivery: publisher, publishFinal: (r) => publisher.encodeFinal(r),
    publishFailure: (req, message) => publisher.encodeFailed(req, message), prefix, queueName: config.queue.name, concurrency: config.queue.concurrency, ...extra });
}

