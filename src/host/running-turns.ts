/**
 * The turns running in this process (embedded mode), so one can be stopped: each run gets an
 * AbortController registered under its session; `stop` aborts it with a `TurnStopRequest`, and
 * the turn runner then commits what the model wrote so far, marked stopped.
 * A session runs one turn at a time (the inline queue's order), so one entry per session.
 */
import { TurnStopRequest, type TurnRequest } from '../core/turn-queue.js';

interface Running {
  messageId: string;
  controller: AbortController;
}

export class RunningTurns {
  private readonly bySession = new Map<string, Running>();

  /** Run `fn` with a signal that `stop` can abort; the registration ends with it. */
  async run<T>(request: TurnRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const entry: Running = { messageId: request.inbound.messageId, controller: new AbortController() };
    this.bySession.set(request.sessionId, entry);
    try {
      return await fn(entry.controller.signal);
    } finally {
      if (this.bySession.get(request.sessionId) === entry) this.bySession.delete(request.sessionId);
    }
  }

  /**
   * Stop the session's running turn (only the one for `messageId` when given). True when a turn
   * was running and is now being stopped; false when none was (it already ended, or is queued).
   */
  stop(sessionId: string, messageId?: string): boolean {
    const entry = this.bySession.get(sessionId);
    if (!entry || entry.controller.signal.aborted) return false;
    if (messageId !== undefined && entry.messageId !== messageId) return false;
    entry.controller.abort(new TurnStopRequest());
    return true;
  }
}
