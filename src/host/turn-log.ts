/**
 * The worker's one info line per finished turn: session key, agent, duration and outcome — what
 * an operator greps for first. Retried attempts are not finished turns (they log as warnings).
 */
import type { WorkerEvent } from '../queue/worker-options.js';

export interface InfoLogger {
  info(fields: object, message: string): void;
}

export function logTurnLine(logger: InfoLogger, event: WorkerEvent): void {
  let outcome: string;
  if (event.type === 'turn') outcome = event.duplicate ? 'duplicate' : 'ok';
  else if (event.type === 'turn_error' && !event.willRetry) outcome = 'failed';
  else if (event.type === 'lease_lost' && event.agent !== undefined) outcome = 'lease_lost';
  else return;
  const durationMs = event.startedAt === undefined ? undefined : Date.now() - event.startedAt;
  logger.info({ session: event.sessionId, agent: event.agent, durationMs, outcome }, `turn ${outcome}: ${event.sessionId} (${event.agent ?? '?'}) in ${durationMs ?? '?'} ms`);
}
