/**
 * Routes turn results to the adapter that owns the bot they came from. One queue serves every
 * bot; each adapter registers its own `Delivery` under its bot id.
 *
 * In distributed mode a `RouteTransport` (the Redis outbox, src/host/distributed.ts) is
 * connected: it starts carrying a bot's results to this process when the bot is registered
 * and stops when the last registration goes. How results are shared between processes is the
 * route's choice: by default each result goes to exactly one of the processes that registered
 * the bot; with `{ broadcast: true }` every such process sees every result.
 */
import type { DeliveredFirst, Delivery, RouteOptions, RouteTransport, TurnRequest, TurnResult } from '../core/turn-queue.js';

/** Tells the other processes that a reply was delivered here (distributed mode). */
export type DeliveryAnnouncer = (request: TurnRequest, first: DeliveredFirst) => void;

export type { RouteOptions, RouteTransport };

export class DeliveryRouter implements Delivery {
  private readonly routes = new Map<string, { delivery: Delivery; options: RouteOptions }>();
  private transport: RouteTransport | undefined;
  private announcer: DeliveryAnnouncer | undefined;
  private readonly attaching = new Set<Promise<void>>();
  private readonly registerListeners: Array<(botId: string) => void> = [];

  /**
   * `listener` is called with a bot id each time that bot gets a route (not when a route is
   * replaced): the embedded queue then re-runs the bot's turns a dead process left unanswered.
   */
  onRegister(listener: (botId: string) => void): void {
    this.registerListeners.push(listener);
  }

  /** Returns an unregister function. */
  register(botId: string, delivery: Delivery, options: RouteOptions = {}): () => void {
    const replaced = this.routes.get(botId);
    this.routes.set(botId, { delivery, options });
    if (!replaced || replaced.options.broadcast !== options.broadcast) this.attach(botId, options, replaced !== undefined);
    if (!replaced) for (const listener of this.registerListeners) listener(botId);
    return () => {
      if (this.routes.get(botId)?.delivery !== delivery) return;
      this.routes.delete(botId);
      void this.transport?.detach(botId).catch(() => undefined);
    };
  }

  /**
   * Connect a transport: it carries every route registered so far and every later one;
   * `announcer` tells the other processes of each reply delivered here.
   */
  connect(transport: RouteTransport, announcer?: DeliveryAnnouncer): void {
    this.transport = transport;
    this.announcer = announcer;
    for (const [botId, { options }] of this.routes) this.attach(botId, options, false);
  }

  /** Resolves once every route registered so far is carried (at once without a transport). */
  async ready(): Promise<void> {
    while (this.attaching.size > 0) await Promise.all([...this.attaching]);
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

  deliveredElsewhere(request: TurnRequest, first: DeliveredFirst): void {
    this.route(request)?.deliveredElsewhere?.(request, first);
  }

  /** A reply was delivered by this process: tell the others (no-op without a transport). */
  announce(request: TurnRequest, first: DeliveredFirst): void {
    this.announcer?.(request, first);
  }

  private attach(botId: string, options: RouteOptions, reattach: boolean): void {
    const transport = this.transport;
    if (!transport) return;
    const p = (async () => {
      if (reattach) await transport.detach(botId);
      await transport.attach(botId, options);
    })();
    const tracked = p.catch(() => undefined).finally(() => this.attaching.delete(tracked));
    this.attaching.add(tracked);
  }

  private route(request: TurnRequest): Delivery | undefined {
    return this.routes.get(request.inbound.botId)?.delivery;
  }
}
