/**
 * Routes turn results to the adapter that owns the bot they came from. One queue serves every
 * bot; each adapter registers its own `Delivery` under its bot id.
 */
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';

export class DeliveryRouter implements Delivery {
  private readonly routes = new Map<string, Delivery>();

  /** Returns an unregister function. */
  register(botId: string, delivery: Delivery): () => void {
    this.routes.set(botId, delivery);
    return () => {
      if (this.routes.get(botId) === delivery) this.routes.delete(botId);
    };
  }

  started(request: TurnRequest): void {
    this.route(request)?.started?.(request);
  }

  partial(request: TurnRequest, textSoFar: string): void {
    this.route(request)?.partial?.(request, textSoFar);
  }

  async final(result: TurnResult): Promise<void> {
    await this.route(result.request)?.final(result);
  }

  async failed(request: TurnRequest, message: string, error: unknown): Promise<void> {
    await this.route(request)?.failed(request, message, error);
  }

  private route(request: TurnRequest): Delivery | undefined {
    return this.routes.get(request.inbound.botId);
  }
}
