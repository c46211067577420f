/**
 * Distributed mode (`queue.backend: bullmq`): the Redis connections, the ingress-side queue and
 * result subscription, and the worker. One Redis serves the queue, the leases and (with
 * `store.backend: redis`) the sessions, under one key prefix.
 */
import type { Redis } from 'ioredis';
import type { TurnDeps } from '../agent/run-turn.js';
import type { TurnQueue } from '../core/turn-queue.js';
import type { BotsConfig } from '../config/schema.js';
import { BullMQTurnQueue } from '../queue/bullmq-turn-queue.js';
import { OutboxRoutes, type OutboxRoutesOptions } from '../queue/outbox-routes.js';
import { assertQueueSafeRedis, connectOnce, connectRedis, REDIS_DEFAULTS, reportRedisOutages } from '../redis/redis-connection.js';
import { deliveryChannel } from '../queue/inbox-keys.js';
import { publishDelivered, RedisDeliveryPublisher, subscribePartials } from '../queue/redis-delivery.js';
import { TurnWorker, type TurnWorkerOptions } from '../queue/turn-worker.js';
import { publishTurnStop, type TurnStop } from '../queue/turn-stops.js';
import type { DeliveryRouter } from './delivery-router.js';

export function redisUrlOf(config: BotsConfig): string {
  return config.queue.redis_url ?? process.env.REDIS_URL ?? REDIS_DEFAULTS.url;
}

/** A checked connection: reachable and `noeviction`, or a clear error. */
export async function openQueueRedis(config: BotsConfig, logger?: OutageLogger): Promise<Redis> {
  const url = redisUrlOf(config);
  const client = await connectOnce(url, { role: 'queue.backend "bullmq"', setting: config.queue.redis_url !== undefined ? 'queue.redis_url (or store.url)' : 'REDIS_URL or queue.redis_url' });
  try {
    await assertQueueSafeRedis(client, url);
  } finally {
    client.disconnect();
  }
  const live = connectRedis(url);
  if (logger) reportRedisOutages(live, url, logger);
  return live;
}

type OutageLogger = Parameters<typeof reportRedisOutages>[2];

export interface IngressQueue {
  queue: TurnQueue;
  /** The outbox consumers/readers of the bots registered with the router. */
  outbox: OutboxRoutes;
  close(): Promise<void>;
}

export type IngressQueueOptions = Pick<OutboxRoutesOptions, 'onEvent' | 'consumer'>;

/**
 * Enqueue into Redis. Final replies come back through each registered bot's durable outbox
 * (one consumer group per bot; broadcast routes read every entry), partials over pub/sub;
 * both reach `router`, which picks the adapter by bot id.
 */
export async function openIngressQueue(config: BotsConfig, client: Redis, router: DeliveryRouter, options: IngressQueueOptions = {}): Promise<IngressQueue> {
  const prefix = config.store.prefix;
  const queue = new BullMQTurnQueue({ client, prefix, queueName: config.queue.name });
  const subscriber = client.duplicate();
  subscriber.on('error', () => undefined);
  const unsubscribe = await subscribePartials(subscriber, prefix, router);
  const outbox = new OutboxRoutes({ client, prefix, delivery: router, ...options });
  router.connect(outbox, (request, first) => publishDelivered(client, prefix, request, first));
  return {
    queue,
    outbox,
    async close() {
      await queue.close();
      await outbox.close();
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
  // Read ahead as much history as any agent uses (the store serves no more than max_messages).
  const historyWindow = Math.min(config.store.max_messages, Math.max(0, ...Object.values(config.agents).map((a) => a.max_history)));
  return new TurnWorker({
    client,
    deps,
    delivery: publisher,
    outbox: {
      key: (botId) => publisher.outboxKey(botId),
      final: (r) => publisher.encodeFinal(r),
      finalAwaitingCursor: (r) => publisher.encodeFinalAwaitingCursor(r),
      failed: (req, message, cause) => publisher.encodeFailed(req, message, cause),
    },
    historyWindow,
    // The claim announces a kick's first turn on the channel the publisher uses for the rest.
    announceStartsOn: deliveryChannel(prefix, ''),
    logCap: config.store.max_messages,
    prefix,
    queueName: config.queue.name,
    concurrency: config.queue.concurrency,
    ...extra,
  });
}


/** Ask the workers to stop a session's running turn (the one holding its lease does). */
export function publishStop(config: BotsConfig, client: Redis, stop: TurnStop): Promise<number> {
  return publishTurnStop(client, config.store.prefix, stop);
}
