/**
 * How turn results travel from workers to the processes that own the platform connections.
 *
 * - Final replies and failure notices go through the bot's durable outbox stream
 *   (`<prefix>:outbox:{<bot>}`): the worker appends them inside the script that pops the turn
 *   (popTurn-10.lua); ingress processes consume them (outbox-consumer.ts). `RedisDeliveryPublisher`
 *   only encodes them here.
 * - Partial (streamed) replies are best-effort: published on `<prefix>:delivery:<botId>`; an
 *   ingress process that misses one still gets the final reply.
 * - The ingress that delivered a reply says so on the same channel (`publishDelivered`), so the
 *   one that streamed its preview stops and tidies it away (best-effort too).
 */
import type { Redis } from 'ioredis';
import type { DeliveredFirst, Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { deliveryChannel, outboxKeys } from './inbox-keys.js';
import type { OutboxMessage } from './outbox-consumer.js';

/**
 * Best-effort progress of a turn: it started (typing, the gateway's `executing`), text so far, or
 * (from the ingress that delivered it) its reply went out.
 */
type PartialMessage =
  | { kind: 'partial'; request: TurnRequest; text: string }
  | { kind: 'started'; request: TurnRequest }
  | { kind: 'delivered'; request: TurnRequest; first: DeliveredFirst };

/** An outbox entry to append: the bot's stream and the message JSON. */
export interface OutboxAppend {
  key: string;
  message: string;
}

/** The worker side. `final`/`failed` are not used for sending: the pop script appends those. */
export class RedisDeliveryPublisher implements Pick<Delivery, 'partial' | 'started'> {
  /** Bot id → its outbox key (encoding the id on every turn showed up in profiles). */
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  started(request: TurnRequest): void {
    const message: PartialMessage = { kind: 'started', request };
    void this.client.publish(deliveryChannel(this.prefix, request.inbound.botId), JSON.stringify(message)).catch(() => undefined);
  }

  partial(request: TurnRequest, text: string): void {
    const message: PartialMessage = { kind: 'partial', request, text };
    void this.client.publish(deliveryChannel(this.prefix, request.inbound.botId), JSON.stringify(message)).catch(() => undefined);
  }

  /** The outbox entry of a final reply. */
  encodeFinal(result: TurnResult): OutboxAppend {
    return { key: this.outboxKey(result.request.inbound.botId), message: JSON.stringify({ kind: 'final', result } satisfies OutboxMessage) };
  }

  /**
   * The message of a final reply whose cursor is not known yet: the pop script sent with its
   * commit writes `before + cursor + after`, taking the cursor from the commit (popTurn-10.lua).
   */
  encodeFinalAwaitingCursor(result: Omit<TurnResult, 'cursor'>): { before: string; after: string } {
    const message = JSON.stringify({ kind: 'final', result });
    // `result` is the last member, and the cursor becomes its last: right before the two closing braces.
    return { before: `${message.slice(0, -2)},"cursor":`, after: '}}' };
  }

  /** The outbox entry of the polite notice for a turn that failed for good (and the operator's cause, if any). */
  encodeFailed(request: TurnRequest, message: string, cause?: string): OutboxAppend {
    return { key: this.outboxKey(request.inbound.botId), message: JSON.stringify({ kind: 'failed', request, message, ...(cause !== undefined ? { cause } : {}) } satisfies OutboxMessage) };
  }

  /** A bot's outbox stream key. */
  outboxKey(botId: string): string {
    let key = this.keys.get(botId);
    if (key === undefined) {
      key = outboxKeys(this.prefix, botId).stream;
      if (this.keys.size < 10_000) this.keys.set(botId, key);
    }
    return key;
  }
}

/** The ingress side: tell the other ingress processes that this one delivered a reply. */
export function publishDelivered(client: Redis, prefix: string, request: TurnRequest, first: DeliveredFirst): void {
  const message: PartialMessage = { kind: 'delivered', request, first };
  void client.publish(deliveryChannel(prefix, request.inbound.botId), JSON.stringify(message)).catch(() => undefined);
}

/**
 * The ingress side of partials: subscribe to every bot's partial replies (pattern) and pass
 * them to `delivery` (the router picks the adapter). Returns an unsubscribe function.
 */
export async function subscribePartials(subscriber: Redis, prefix: string, delivery: Pick<Delivery, 'partial' | 'started' | 'deliveredElsewhere'>): Promise<() => Promise<void>> {
  const pattern = deliveryChannel(prefix, '*');
  const onPMessage = (p: string, _ch: string, raw: string) => {
    if (p !== pattern) return;
    try {
      const m = JSON.parse(raw) as PartialMessage;
      if (m.kind === 'partial') delivery.partial?.(m.request, m.text);
      else if (m.kind === 'started') delivery.started?.(m.request);
      else if (m.kind === 'delivered') delivery.deliveredElsewhere?.(m.request, m.first);
    } catch {
      // Not ours to understand: ignore.
    }
  };
  subscriber.on('pmessage', onPMessage);
  await subscriber.psubscribe(pattern);
  return async () => {
    subscriber.off('pmessage', onPMessage);
    await subscriber.punsubscribe(pattern).catch(() => undefined);
  };
}
