/** The default ingress chain, assembled from its parts. */
import type { TurnQueue } from '../core/turn-queue.js';
import { allowlist } from './allowlist.js';
import { commands, type CommandDeps } from './commands.js';
import { dedupe, RecentIds } from './dedupe.js';
import { assignSession, mentionGate } from './gating.js';
import { compose, type IngressContext, type Middleware } from './pipeline.js';

export interface IngressDeps extends CommandDeps {
  queue: TurnQueue;
  seen?: RecentIds;
}

/** The last step: hand the turn to the queue. Rejections propagate so the adapter can refuse the platform. */
export function enqueue(queue: TurnQueue): Middleware {
  return async (ctx) => {
    await queue.enqueue({ sessionId: ctx.sessionId!, agent: ctx.bot.agent, inbound: ctx.message });
    ctx.outcome = 'enqueued';
  };
}

export function createIngress(deps: IngressDeps): (ctx: IngressContext) => Promise<void> {
  return compose([
    dedupe(deps.seen ?? new RecentIds()),
    allowlist(),
    mentionGate(),
    assignSession(),
    commands(deps),
    enqueue(deps.queue),
  ]);
}

export { RecentIds } from './dedupe.js';
export type { BotPolicy, IngressContext, IngressOutcome, Middleware } from './pipeline.js';
