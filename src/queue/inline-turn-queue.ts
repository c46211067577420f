/**
 * The embedded-mode turn queue: in this process's memory. Each session's turns run one at a
 * time in arrival order; different sessions run concurrently up to `concurrency`.
 * A turn that fails with a retryable error is retried with backoff (still ahead of the
 * session's later turns, so order holds); one that fails for good produces a polite reply.
 */
import type { Delivery, TurnQueue, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { BotHostError } from '../core/errors.js';
import { RETRY_DEFAULTS, backoffDelayMs, classifyTurnError, politeFailure } from './retry.js';

export interface InlineTurnQueueOptions {
  run: (request: TurnRequest, onPartial: (text: string) => void) => Promise<TurnResult>;
  delivery: Delivery;
  /** Sessions running at once. Default 8. */
  concurrency?: number;
  attempts?: number;
  /** Receives failures for logs/metrics (the user gets `delivery.failed`). */
  onError?: (request: TurnRequest, error: unknown, willRetry: boolean) => void;
  /** A turn is over for good: its reply (or polite failure) was handed to delivery, or it was dropped. */
  onSettled?: (request: TurnRequest) => void;
}

export class InlineTurnQueue implements TurnQueue {
  private readonly pending = new Map<string, TurnRequest[]>();
  /** Sessions with work, in the order they became ready. */
  private readonly ready: string[] = [];
  private running = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly attempts: number;

  constructor(private readonly options: InlineTurnQueueOptions) {
    this.concurrency = options.concurrency ?? 8;
    this.attempts = options.attempts ?? RETRY_DEFAULTS.attempts;
  }

  async enqueue(request: TurnRequest): Promise<void> {
    if (this.closed) throw new BotHostError('QUEUE_CLOSED', 'the turn queue is shutting down; try again shortly');
    const queue = this.pending.get(request.sessionId);
    if (queue) {
      queue.push(request);
      return;
    }
    this.pending.set(request.sessionId, [request]);
    this.ready.push(request.sessionId);
    this.pump();
  }

  /** Turns waiting or running. */
  get size(): number {
    let n = 0;
    for (const q of this.pending.values()) n += q.length;
    return n;
  }

  /** Stops accepting and resolves when every accepted turn has finished. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pending.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.ready.length > 0) {
      const sessionId = this.ready.shift()!;
      this.running++;
      void this.drain(sessionId).finally(() => {
        this.running--;
        if (this.pending.size === 0) this.idleWaiters.splice(0).forEach((w) => w());
        this.pump();
      });
    }
  }

  /** Run one session's queue to empty. The session stays in `pending` until then, so new turns append behind. */
  private async drain(sessionId: string): Promise<void> {
    const queue = this.pending.get(sessionId)!;
    try {
      while (queue.length > 0) {
        const request = queue[0]!;
        await this.runWithRetry(request);
        queue.shift();
        try {
          this.options.onSettled?.(request);
        } catch {
          // A failing hook must not stop the queue.
        }
      }
    } finally {
      // Never leave a session marked busy: its later turns would wait forever.
      this.pending.delete(sessionId);
    }
  }

  private async runWithRetry(request: TurnRequest): Promise<void> {
    const { delivery } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        delivery.started?.(request);
        const result = await this.options.run(request, (text) => delivery.partial?.(request, text));
        await delivery.final(result);
        return;
      } catch (error) {
        const decision = classifyTurnError(error);
        const retry = decision === 'retry' && attempt + 1 < this.attempts;
        try {
          this.options.onError?.(request, error, retry);
        } catch {
          // A failing error hook must not stop the queue.
        }
        if (retry) {
          await new Promise((r) => setTimeout(r, backoffDelayMs(attempt)));
          continue;
        }
        if (decision !== 'drop') await Promise.resolve(delivery.failed(request, politeFailure(error), error)).catch(() => undefined);
        return;
      }
    }
  }
}
