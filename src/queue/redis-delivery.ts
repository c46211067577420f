/**
 * Turn results travel from workers to the process that owns the platform connection over Redis
 * pub/sub: a worker publishes on `<prefix>:delivery:<botId>`, every ingress process of that bot
 * subscribes and hands results to its DeliveryRouter. Pub/sub is fire-and-forget; a result
 * whose delivery was missed is still committed, and the retried job re-delivers the stored reply.
 */
import type { Redis } from 'ioredis';
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { deliveryChannel } from './inbox-keys.js';

type Message =
  | { kind: 'partial'; request: TurnRequest; text: string }
  | { kind: 'final'; result: TurnResult }
  | { kind: 'failed'; request: TurnRequest; message: string };

/** The worker side: a Delivery that publishes. */
export class RedisDeliveryPublisher implements Delivery {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  partial(request: TurnRequest, text: string): void {
    void this.publish(request, { kind: 'partial', request, text }).catch(() => undefined);
  }

  async final(result: TurnResult): Promise<void> {
    const { channel, message } = this.encodeFinal(result);
    await this.client.publish(channel, message);
  }

  /** The channel and message of a failure notice, for a caller that publishes it inside a script. */
  encodeFailed(request: TurnRequest, message: string): { channel: string; message: string } {
    return { channel: deliveryChannel(this.prefix, request.inbound.botId), message: JSON.stringify({ kind: 'failed', request, message } satisfies Message) };
  }

  /** The channel and message of a final reply, for a caller that publishes it inside a script. */
  encodeFinal(result: TurnResult): { channel: string; message: string } {
    return { channel: deliveryChannel(this.prefix, result.request.inbound.botId), message: JSON.stringify({ kind: 'final', result } satisfies Message) };
  }

  async failed(request: TurnRequest, message: string): Promise<void> {
    await this.publish(request, { kind: 'failed', request, message });
  }

  private async publish(request: TurnRequest, message: Message): Promise<void> {
    await this.client.publish(deliveryChannel(this.prefix, request.inbound.botId), JSON.stringify(message));
  }
}

/**
 * The ingress side: subscribe to a bot's results (or every bot's, with `pattern` and botId `*`)
 * and pass them on. Returns an unsubscribe function.
 */
export async function subscribeDelivery(subscriber: Redis, prefix: string, botId: string, delivery: Delivery, pattern = false): Promise<() => Promise<void>> {
  const channel = deliveryChannel(prefix, botId);
  const onMessage = (ch: string, raw: string) => {
    if (ch !== channel) return;
    dispatch(raw);
  };
  const onPMessage = (p: string, _ch: string, raw: string) => {
    if (p === channel) dispatch(raw);
  };
  const dispatch = (raw: string) => {
    let m: Message;
    try {
      m = JSON.parse(raw) as Message;
    } catch {
      return;
    }
    if (m.kind === 'partial') delivery.partial?.(m.request, m.text);
    else if (m.kind === 'final') void Promise.resolve(delivery.final(m.result)).catch(() => undefined);
    else if (m.kind === 'failed') void Promise.resolve(delivery.failed(m.request, m.message, undefined)).catch(() => undefined);
  };
  if (pattern) {
    subscriber.on('pmessage', onPMessage);
    await subscriber.psubscribe(channel);
  } else {
    subscriber.on('message', onMessage);
    await subscriber.subscribe(channel);
  }
  return async () => {
    subscriber.off('message', onMessage);
    subscriber.off('pmessage', onPMessage);
    await (pattern ? subscriber.punsubscribe(channel) : subscriber.unsubscribe(channel)).catch(() => undefined);
  };
}
