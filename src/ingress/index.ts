/** The default ingress chain, assembled from its parts. */
import type { SessionLog } from '../core/session-store.js';
import type { TurnQueue } from '../core/turn-queue.js';
import { allowlist } from './allowlist.js';
import { commands, type CommandDeps } from './commands.js';
import { dedupe, RecentIds } from './dedupe.js';
import { assignSession, mentionGate } from './gating.js';
import { compose, type IngressContext, type Middleware } from './pipeline.js';
import { sessionReset, type ResetPolicy } from './session-reset.js';

export interface IngressDeps extends CommandDeps {
  /** The commands' needs, plus metadata writes for the reset step. */
  store: Pick<SessionLog, 'clearSession' | 'getSession' | 'updateMetadata'>;
  queue: TurnQueue;
  seen?: RecentIds;
  /** Reset policy per bot id (`session.reset`, `bots[].session_reset`); none when absent. */
  resetPolicyFor?: (botId: string) => ResetPolicy;
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
    ...(deps.resetPolicyFor ? [sessionReset({ store: deps.store, policyFor: deps.resetPolicyFor })] : []),
    commands(deps),
    enqueue(deps.queue),
  ]);
}

export { RecentIds } from './dedupe.js';
export { NO_RESET, type ResetPolicy } from './session-reset.js';
export type { BotPolicy, IngressContext, IngressOutcome, Middleware } from './pipeline.js';
