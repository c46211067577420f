/**
 * First line of defence against platform redeliveries: a bounded memory of recently accepted
 * message ids per bot. The durable guarantee is the store's idempotent commit; this only saves
 * a wasted model call. An id is remembered only once its turn was accepted by the queue, and
 * forgotten again if enqueueing fails, so a refused message can be redelivered and processed.
 */
import type { Middleware } from './pipeline.js';

export class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}

export function dedupe(seen: RecentIds): Middleware {
  return async (ctx, next) => {
    const key = `${ctx.bot.id}:${ctx.message.messageId}`;
    if (seen.has(key)) {
      ctx.outcome = 'duplicate';
      return;
    }
    seen.add(key);
    try {
      await next();
    } catch (err) {
      seen.delete(key);
      throw err;
    }
  };
}
