/**
 * Draining one session's inbox under its lease, for the turn worker (turn-worker.ts): run the
 * head's turn (history → model → fenced commit), pop it from the inbox — which appends the
 * reply to the bot's outbox in the same script step (popTurn-10.lua) — and go on until the
 * inbox is empty and the drain ends atomically with releasing the lease.
 *
 * The drain owns the commit pipeline: `prepareTurn` (run-turn.ts) returns the turn's commit
 * unsent, and the drain sends it (`sendCommit`) with the pop right behind it in the same write.
 * Pipelined: the pop goes out in the commit's round trip and reads the next head's history, and
 * when the entry behind the head is known the next turn runs while that round trip is in
 * flight, so a busy session costs one round trip per turn. Failures: retryable ones are retried
 * in place with backoff (keeping the session's order); after `attempts` (or at once for
 * permanent ones) the pop appends a polite notice and a dead letter, exactly once.
 */
import type { Redis } from 'ioredis';
import { inboundText, prepareTurn, sendCommit, type PreparedTurn, type TurnDeps, type TurnPreparation } from '../agent/run-turn.js';
import { LeaseLostError } from '../core/errors.js';
import type { TurnRequest, TurnResult } from '../core/turn-queue.js';
import type { HeldLease } from '../locks/hold-lease.js';
import type { InboxKeys } from './inbox-keys.js';
import { LOST, NOT_COMMITTED, type InboxScripts, type Popped, type Prefetch } from './inbox-scripts.js';
import { backoffDelayMs, classifyTurnError, operatorCause, politeFailure } from './retry.js';
import { SignalPool, TurnLimits } from './turn-limit.js';
import type { TurnTiming, TurnWorkerOptions, WorkerEvent } from './worker-options.js';

/** runOne's answer when it did not wait for its pop: the next turn and its locally computed history. */
interface Speculated {
  pending: Promise<Popped | typeof LOST>;
  next: string;
  prefetch: Prefetch;
}

/** Where a drain starts: what the claim read. */
export interface DrainStart {
  head: string | null;
  /** The head turn's history, read ahead. */
  prefetch?: Prefetch | undefined;
  /** The entry behind the head. */
  ahead: string | null;
  /** The history is stitched by the hierarchy: read each turn's afresh (no read-ahead, no pipelining). */
  stitched: boolean;
  /** The claim already announced the head's start. */
  announced: boolean;
}

/** How runOne finds the turn it runs: see runOne. */
interface TurnStep {
  prefetch: Prefetch | undefined;
  prior: Promise<Popped | typeof LOST> | undefined;
  ahead: string | null;
  /** Its start was announced already. */
  announced: boolean;
}

/** What a drain needs from its worker. */
export interface DrainContext {
  client: Redis;
  deps: TurnDeps;
  delivery: TurnWorkerOptions['delivery'];
  outbox: TurnWorkerOptions['outbox'];
  scripts: InboxScripts;
  /** Log entries read ahead for a turn (0: none). */
  historyWindow: number;
  /** The store's max messages: its log never grows longer. */
  logCap: number;
  /** The store is the Redis store on this prefix: the pop rides in the commit's round trip. */
  popRidesWithCommit: boolean;
  attempts: number;
  retryBaseMs: number;
  turnTimeoutMs: number;
  /** Throttle for streamed partial replies. */
  partialEveryMs: number;
  /** True once the worker is shutting down: a drain hands its session back after the turn in flight. */
  stopping(): boolean;
  onEvent?: (event: WorkerEvent) => void;
}

export class SessionDrain {
  /** Clean abort controllers passed from one drain to the next (see turn-limit.ts). */
  private readonly signals = new SignalPool();
  /** Session → the turn whose model call runs now (inbound message id) and how to stop it. */
  private readonly running = new Map<string, { messageId: string; limits: TurnLimits }>();

  constructor(private readonly c: DrainContext) {}

  /** The user stopped `sessionId`'s turn (a `TurnStop`): abort it if this drain runs it now. */
  stop(sessionId: string, messageId?: string): boolean {
    const turn = this.running.get(sessionId);
    if (!turn || (messageId !== undefined && turn.messageId !== messageId)) return false;
    turn.limits.stop();
    return true;
  }

  /**
   * Run the inbox to empty. True when the drain ended and released the lease; false when it
   * stopped with work left (lease lost, or handed back on shutdown).
   *
   * Pipelined: when the entry behind the head is known (read ahead by the claim or a pop), the
   * next turn runs while this turn's commit and pop are in flight (two turns at most). Order
   * and fencing hold: Redis runs the commits in order, and a pop that fails raises the fence so
   * the commit behind it is rejected (see popTurn-10.lua); nothing is delivered from a turn
   * whose predecessor's pop failed, and the drain stops there.
   */
  async drain(sessionId: string, keys: InboxKeys, held: HeldLease, start: DrainStart): Promise<boolean> {
    const { client } = this.c;
    const { stitched } = start;
    let raw = start.head;
    let prefetch = stitched ? undefined : start.prefetch;
    let ahead = start.ahead;
    // The claim announced the head's start (typing, `executing`); later turns are announced here.
    let announced = start.announced;
    let prior: Promise<Popped | typeof LOST> | undefined;
    const limits = new TurnLimits(held, this.c.turnTimeoutMs, this.signals);
    try {
      for (;;) {
        if (held.lost) {
          this.c.onEvent?.({ type: 'lease_lost', sessionId });
          return false;
        }
        // Shutting down: the turn in flight is done; leave the rest to another worker, or a
        // session that never empties would keep this process alive forever.
        if (this.c.stopping() && raw !== null) return false;
        if (raw === null) {
          if (await this.c.scripts.finish(keys, held.token)) return true;
          raw = await client.lindex(keys.inbox, 0);
          prefetch = undefined;
          ahead = null;
          continue;
        }
        const step = await this.runOne(sessionId, keys, raw, held, limits, { prefetch, prior, ahead, announced });
        announced = false;
        prior = undefined;
        if (step === LOST) return false;
        if ('pending' in step) {
          prior = step.pending;
          raw = step.next;
          prefetch = stitched ? undefined : step.prefetch;
          ahead = null; // learned from `prior` by the next runOne
          continue;
        }
        if (step.finished) return true;
        raw = step.next;
        prefetch = stitched ? undefined : step.prefetch;
        ahead = step.after ?? null;
      }
    } finally {
      // Never leave a pop unanswered behind a stopped drain (its outcome is decided in Redis).
      await prior?.catch(() => LOST);
      limits.close();
    }
  }

  /**
   * Run the inbox head to completion (its reply or failure notice appended to the outbox).
   * Returns what the pop saw next, or LOST when the lease was lost; or, when the entry behind
   * this head is known, returns as soon as this turn's commit and pop are sent, with the next
   * turn's history computed locally (`Speculated`).
   *
   * `prior` is the previous turn's pop, still in flight: this turn's outcome counts only once
   * it succeeded. `ahead` is the entry behind this head, when known.
   */
  private async runOne(sessionId: string, keys: InboxKeys, raw: string, held: HeldLease, limits: TurnLimits, step: TurnStep): Promise<Popped | Speculated | typeof LOST> {
    const { prefetch, announced } = step;
    let { prior, ahead } = step;
    const { client, deps, delivery, outbox } = this.c;
    const request = JSON.parse(raw) as TurnRequest;
    const inboundId = `${request.inbound.botId}:${request.inbound.messageId}`;
    const outboxKey = this.c.outbox.key(request.inbound.botId);
    const timing: TurnTiming = { agent: request.agent, receivedAt: request.inbound.receivedAt, startedAt: Date.now() };
    /** Wait for the previous turn's pop; LOST if it failed. Learns what is behind this head. */
    const settlePrior = async (): Promise<boolean> => {
      if (!prior) return true;
      const p = await prior.catch((): typeof LOST => LOST);
      prior = undefined;
      if (p === LOST) return false;
      ahead = p.next === raw ? (p.after ?? null) : null;
      return true;
    };
    // Best effort, fire and forget (it leaves in the same write as the commands around it):
    // typing indicators and the gateway's `executing` on whichever ingress process serves the chat.
    if (!announced && held.isHeld()) delivery.started?.(request);
    // Fast replies go out whole; only replies slower than the throttle stream partials.
    let lastPartial = Date.now();
    for (let attempt = 0; ; attempt++) {
      const limit = limits.start();
      // The pop (which appends the reply to the outbox) rides in the commit's round trip.
      let popWithCommit: Promise<Popped | typeof LOST | typeof NOT_COMMITTED> | undefined;
      const withHistory = prefetch && attempt === 0 ? prefetch : undefined;
      // Pipelining needs the pop riding with the commit, this turn's history (to compute the
      // next one's) and a next entry.
      const mayPipeline = this.c.popRidesWithCommit && withHistory?.logLength !== undefined && this.c.historyWindow > 0 && !this.c.stopping();
      const runningTurn = { messageId: request.inbound.messageId, limits };
      this.running.set(sessionId, runningTurn);
      try {
        let ready: TurnPreparation;
        try {
          ready = await prepareTurn(deps, request, {
            fence: held.fence,
            signal: limit.signal,
            // Read ahead for the first attempt only: a retry reads afresh.
            ...(withHistory ? { prefetched: withHistory } : {}),
            onPartial: (text) => {
              const now = Date.now();
              if (now - lastPartial < this.c.partialEveryMs || !held.isHeld()) return;
              lastPartial = now;
              delivery.partial?.(request, text);
            },
          });
        } finally {
          // Only the model call can be stopped: once the commit is sent, the turn is no longer stoppable.
          if (this.running.get(sessionId) === runningTurn) this.running.delete(sessionId);
        }
        let turn: Promise<TurnResult>;
        if ('stored' in ready) {
          turn = Promise.resolve(ready.stored); // committed before: its stored reply is popped below
        } else {
          const { prepared } = ready;
          turn = sendCommit(deps.store, prepared);
          turn.catch(() => undefined); // handled below, whichever way it ends
          if (this.c.popRidesWithCommit) {
            popWithCommit = this.popWithCommit(keys, outboxKey, inboundId, raw, held, prepared, mayPipeline ? this.logLengthAfter(withHistory!) : undefined);
          }
          if (mayPipeline && popWithCommit) {
            // Commit and pop are in flight. The previous turn's pop must have succeeded first.
            if (!(await settlePrior())) {
              await turn.catch(() => undefined);
              limit.dispose();
              await popWithCommit.catch(() => LOST);
              return LOST;
            }
            if (ahead !== null && !held.lost) {
              const pending = this.settleSpeculated(sessionId, turn, popWithCommit, limit, timing);
              return { pending, next: ahead, prefetch: this.historyAfter(withHistory!, request, prepared.reply) };
            }
          }
        }
        const result = await turn;
        limit.dispose();
        if (!(await settlePrior())) {
          await popWithCommit?.catch(() => LOST);
          return LOST;
        }
        const early = popWithCommit ? await popWithCommit : NOT_COMMITTED;
        if (early === LOST) return LOST;
        let popped: Popped | typeof LOST;
        if (early !== NOT_COMMITTED) {
          popped = early; // committed, appended to the outbox and removed in the commit's round trip
          if (popped.stale && !popped.finished) {
            // The log changed behind this drain (a /new, say): stop; the next claim reads it afresh.
            this.c.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate, ...timing });
            return LOST;
          }
          // A pipelining pop reads no history: the next turn's is this one's plus this turn.
          if (mayPipeline && !result.duplicate && popped.next !== null && !popped.prefetch) {
            popped = { ...popped, prefetch: this.historyAfter(withHistory!, request, result.reply) };
          }
        } else {
          if (held.lost) return LOST;
          // A stored reply (committed before, by this session's earlier holder), or a store whose
          // commits the pop script cannot see (Postgres): popped now that the commit answered.
          popped = await this.pop(keys, outboxKey, inboundId, raw, held, outbox.final(result).message);
        }
        if (popped !== LOST) this.c.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate, ...timing });
        return popped;
      } catch (error) {
        limit.dispose();
        // A pop sent with a commit that then failed changed nothing (-2 or -1); never leave it unhandled.
        const early = popWithCommit ? await popWithCommit.catch((): typeof NOT_COMMITTED => NOT_COMMITTED) : NOT_COMMITTED;
        if (!(await settlePrior())) return LOST;
        if (early !== NOT_COMMITTED && early !== LOST) return early;
        const decision = held.lost ? 'drop' : classifyTurnError(error);
        if (decision === 'drop') {
          this.c.onEvent?.({ type: 'lease_lost', sessionId, fenced: error instanceof LeaseLostError && error.fenced, ...timing });
          return LOST;
        }
        const tries = await client.hincrby(keys.tries, inboundId, 1);
        const willRetry = decision === 'retry' && tries < this.c.attempts;
        this.c.onEvent?.({ type: 'turn_error', sessionId, error, willRetry, ...timing });
        if (willRetry) {
          await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, this.c.retryBaseMs)));
          continue;
        }
        // The polite notice and the dead letter are appended by the pop: exactly once, fenced by the lease.
        // The request rides along so `bot queue dead retry` can run the turn again.
        const dead = JSON.stringify({ at: Date.now(), sessionId, inboundId, tries, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), request });
        return this.pop(keys, outboxKey, inboundId, raw, held, outbox.failed(request, politeFailure(error), operatorCause(error)).message, dead);
      }
    }
  }

  /**
   * The next turn's history after committing this one: exactly what reading the log would give
   * (the window's newest entries), without reading it. Only for a fresh commit under the lease.
   */
  private historyAfter(before: Prefetch, request: TurnRequest, reply: string): Prefetch {
    const history = [...before.history, { role: 'user' as const, content: inboundText(request.inbound) }, { role: 'assistant' as const, content: reply }];
    return { committed: null, history: history.slice(-this.c.historyWindow), logLength: this.logLengthAfter(before) };
  }

  /** The log's length after one more turn (two entries), capped as the store trims it. */
  private logLengthAfter(before: Prefetch): number {
    return Math.min((before.logLength ?? 0) + 2, this.c.logCap);
  }

  /**
   * The outcome of a turn the drain did not wait for: its commit and pop both succeeded, or
   * LOST. Any failure stops the drain (the lease is released and the session re-kicked; the
   * next holder redoes whatever did not commit).
   */
  private async settleSpeculated(
    sessionId: string,
    turn: Promise<TurnResult>,
    pop: Promise<Popped | typeof LOST | typeof NOT_COMMITTED>,
    limit: { dispose(): void },
    timing: TurnTiming,
  ): Promise<Popped | typeof LOST> {
    try {
      const [result, popped] = await Promise.all([turn, pop]);
      if (popped === LOST || popped === NOT_COMMITTED) return LOST;
      this.c.onEvent?.({ type: 'turn', sessionId, cursor: result.cursor, duplicate: result.duplicate, ...timing });
      // The log changed behind this drain: the turn behind this one ran on a stale history and
      // its commit is rejected (the pop raised the fence); stop, the next claim reads afresh.
      if (popped.stale && !popped.finished) return LOST;
      return popped;
    } catch (error) {
      await pop.catch(() => LOST);
      const decision = classifyTurnError(error);
      if (decision === 'drop') this.c.onEvent?.({ type: 'lease_lost', sessionId, fenced: error instanceof LeaseLostError && error.fenced, ...timing });
      else this.c.onEvent?.({ type: 'turn_error', sessionId, error, willRetry: true, ...timing });
      return LOST;
    } finally {
      limit.dispose();
    }
  }

  /**
   * The pop sent right behind the commit: only if the commit landed, it appends the reply with
   * the commit's cursor (see popTurn-10.lua). `expectLogLength` (pipelining): the caller
   * computes the next turn's history itself, and a commit of the next turn may follow this pop
   * under the same fence (the script's guard).
   */
  private popWithCommit(
    keys: InboxKeys,
    outboxKey: string,
    inboundId: string,
    raw: string,
    held: HeldLease,
    turn: PreparedTurn,
    expectLogLength: number | undefined,
  ): Promise<Popped | typeof LOST | typeof NOT_COMMITTED> {
    const guard = expectLogLength !== undefined;
    const { request, reply, stopped } = turn;
    const { before, after } = this.c.outbox.finalAwaitingCursor({ request, reply, duplicate: false, committedAt: performance.timeOrigin + performance.now(), ...(stopped ? { stopped } : {}) });
    return this.c.scripts.pop(keys, outboxKey, {
      inboundId, head: raw, token: held.token, message: before, messageAfter: after, guard, history: !guard,
      ...(guard ? { expectLogLength } : {}),
    });
  }

  /** Remove the finished head, appending `message` (and a dead letter) if given; the reply says what comes next. */
  private async pop(keys: InboxKeys, outboxKey: string, inboundId: string, raw: string, held: HeldLease, message: string, dead = ''): Promise<Popped | typeof LOST> {
    const popped = await this.c.scripts.pop(keys, outboxKey, { inboundId, head: raw, token: held.token, message, dead });
    // Without a cursor to splice, the script never checks for the commit.
    return popped === NOT_COMMITTED ? LOST : popped;
  }

}
