/**
 * The ingress pipeline: every adapter hands each inbound message to the same chain of small
 * middleware functions — dedupe → allowlist → mention gating → session key → session reset
 * (when configured) → commands → enqueue — composed like grammY's `(ctx, next)` middleware.
 * Each step either calls `next()` or ends the message's journey with an `outcome`.
 */
import type { InboundMessage } from '../core/inbound.js';
import type { BotPolicy, IngestOutcome } from '../core/adapter.js';

export type { BotPolicy };
export type IngressOutcome = IngestOutcome;

export interface IngressContext {
  readonly message: InboundMessage;
  readonly bot: BotPolicy;
  sessionId?: string;
  command?: { name: string; args: string };
  outcome?: IngressOutcome;
  /** Answer directly (commands, refusals) without running the agent. */
  reply(text: string): Promise<void>;
}

export type Next = () => Promise<void>;
export type Middleware = (ctx: IngressContext, next: Next) => Promise<void>;

/** Compose middleware right to left; calling `next` twice is a bug and throws. */
export function compose(middleware: readonly Middleware[]): (ctx: IngressContext) => Promise<void> {
  return async (ctx) => {
    let index = -1;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error('next() called twice in one middleware');
      index = i;
      const fn = middleware[i];
      if (fn) await fn(ctx, () => dispatch(i + 1));
    };
    await dispatch(0);
  };
}
