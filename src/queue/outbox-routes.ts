/**
 * The Redis outbox as a RouteTransport (src/host/delivery-router.ts): for each bot registered
 * in this process, a consumer in the bot's group (exactly one process delivers each result) or,
 * for broadcast routes, a reader that sees every result.
 */
import type { Redis } from 'ioredis';
import type { Delivery, RouteOptions, RouteTransport } from '../core/turn-queue.js';
import { OutboxBroadcastReader } from './outbox-broadcast.js';
import { OutboxConsumer, type OutboxConsumerOptions, type OutboxEvent } from './outbox-consumer.js';

export interface OutboxRoutesOptions {
  client: Redis;
  prefix: string;
  /** Where results go (the DeliveryRouter, which picks the adapter by bot id). */
  delivery: Delivery;
  onEvent?: (event: OutboxEvent) => void;
  /** Overrides for every consumer (tests use a short claim time). */
  consumer?: Partial<Pick<OutboxConsumerOptions, 'claimIdleMs' | 'consumer' | 'batch' | 'sendAttempts' | 'sendRetryBaseMs'>>;
}

type Carrier = OutboxConsumer | OutboxBroadcastReader;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class OutboxRoutes implements RouteTransport {
  private readonly carriers = new Map<string, Carrier>();
  private closed = false;

  constructor(private readonly options: OutboxRoutesOptions) {}

  async attach(botId: string, route: RouteOptions, attempt = 0): Promise<void> {
    if (this.closed || this.carriers.has(botId)) return;
    const { client, prefix, delivery, onEvent } = this.options;
    const carrier: Carrier = route.broadcast
      ? new OutboxBroadcastReader({ client, prefix, botId, delivery, onError: (error) => onEvent?.({ type: 'error', botId, error }) })
      : new OutboxConsumer({ client, prefix, botId, delivery, ...(onEvent ? { onEvent } : {}), ...this.options.consumer });
    this.carriers.set(botId, carrier);
    try {
      await carrier.start();
    } catch (error) {
      // Redis may be restarting: keep trying with a capped backoff; a route must not stay
      // silent for good. start() is memoized, so a fresh carrier tries again.
      onEvent?.({ type: 'error', botId, error });
      await sleep(Math.min(2000, 100 * 2 ** attempt));
      if (this.carriers.get(botId) !== carrier) return; // detached or closed meanwhile
      this.carriers.delete(botId);
      await carrier.close().catch(() => undefined);
      return this.attach(botId, route, attempt + 1);
    }
  }

  async detach(botId: string): Promise<void> {
    const carrier = this.carriers.get(botId);
    this.carriers.delete(botId);
    await carrier?.close();
  }

  /** Consumers of this process, by bot id (for stats and tests). */
  consumers(): Map<string, OutboxConsumer> {
    const out = new Map<string, OutboxConsumer>();
    for (const [botId, c] of this.carriers) if (c instanceof OutboxConsumer) out.set(botId, c);
    return out;
  }

  /** Hand every undelivered entry back and stop. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.carriers.values()];
    this.carriers.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
