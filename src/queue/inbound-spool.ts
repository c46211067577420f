/**
 * The inbound spool: for platforms that never deliver a message again (Discord's gateway,
 * WhatsApp), a turn the queue refuses (Redis down, queue closing) is written to a local file and
 * fdatasync'd, and `enqueue` resolves — so the adapter acknowledges it (read receipt) and a
 * crash at any instant after that loses nothing. A forwarder per bot hands the spooled turns to
 * the queue in spooled order once it accepts again, and removes each only after the queue took
 * it; a re-forward after a crash is harmless, because the queue keeps one turn per inbound id
 * (in the inbox, or already committed).
 *
 * Order: while a bot has spooled turns, its new turns are spooled behind them, so a later
 * message of a session never overtakes a spooled one.
 *
 * Storage is a FileIntake (src/queue/intake-log.ts) of its own: one chain of files per process
 * and bot, each held by its writer's process lock; "accepted" here means "spooled" and "done"
 * means "forwarded". A process takes over the spooled turns of dead processes (same bot, same
 * directory) when the bot's delivery registers or its first message arrives, before any new one.
 */
import { BotHostError } from '../core/errors.js';
import type { TurnQueue, TurnRequest } from '../core/turn-queue.js';
import type { FileIntake } from './intake-log.js';

export const SPOOL_DEFAULTS = Object.freeze({
  /** Wait between two forwarding attempts while the queue refuses (doubles up to `max`). */
  retryMs: Object.freeze({ initial: 200, max: 5_000 }),
});

export type SpoolEvent =
  | { type: 'spooled'; botId: string; messageId: string; depth: number; reason: string }
  | { type: 'forwarded'; botId: string; messageId: string; depth: number }
  | { type: 'forward_failed'; botId: string; depth: number; attempt: number; error: unknown }
  | { type: 'replayed'; botId: string; count: number }
  | { type: 'replay_failed'; botId: string; error: unknown };

export interface SpoolingQueueOptions {
  /** The queue spooled turns are forwarded to (not closed by this wrapper). */
  inner: TurnQueue;
  /** Where spooled turns are kept (a directory of this spool's own). */
  intake: FileIntake;
  /** True when an `inner.enqueue` error means "not taken now; try again later". */
  refused: (err: unknown) => boolean;
  onEvent?: (event: SpoolEvent) => void;
  retryMs?: { initial: number; max: number };
}

interface Spooled {
  request: TurnRequest;
  durable: Promise<void>;
}

export class SpoolingTurnQueue implements TurnQueue {
  /** Spooled, not yet forwarded turns per bot, in spooled order. */
  private readonly backlog = new Map<string, Spooled[]>();
  private readonly replays = new Map<string, Promise<void>>();
  /** Bots whose replay has settled: their enqueues skip awaiting it. */
  private readonly replayed = new Set<string>();
  private readonly forwarders = new Map<string, Promise<void>>();
  /** Per session, the enqueue still deciding (queue or spool): the next one waits for it. */
  private readonly deciding = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SpoolingQueueOptions) {}

  /** Spooled turns of `botId` not yet in the queue. */
  depth(botId: string): number {
    return this.backlog.get(botId)?.length ?? 0;
  }

  /** Every bot that spooled in this process, with its spooled turns not yet in the queue. */
  depths(): Array<{ bot: string; depth: number }> {
    return [...this.backlog].map(([bot, list]) => ({ bot, depth: list.length }));
  }

  /**
   * Resolves once the turn is in the queue or durably spooled; rejects only when neither is possible.
   * A session's turns decide one after another: while one waits for the queue's answer, a later
   * one must not reach the queue (or the spool) ahead of it.
   */
  enqueue(request: TurnRequest): Promise<void> {
    const { sessionId } = request;
    const before = this.deciding.get(sessionId);
    const decided = (before ? before.catch(() => undefined) : Promise.resolve()).then(() => this.decide(request));
    const settled = decided.catch(() => undefined);
    this.deciding.set(sessionId, settled);
    void settled.then(() => {
      if (this.deciding.get(sessionId) === settled) this.deciding.delete(sessionId);
    });
    return decided;
  }

  private async decide(request: TurnRequest): Promise<void> {
    if (this.stopping.signal.aborted) throw new BotHostError('QUEUE_CLOSED', 'the turn queue is shutting down; try again shortly');
    const botId = request.inbound.botId;
    if (!this.replayed.has(botId)) await this.replay(botId);
    if (this.depth(botId) > 0) return this.spool(request, 'earlier messages of this bot are still spooled');
    try {
      await this.options.inner.enqueue(request);
    } catch (err) {
      if (!this.options.refused(err)) throw err;
      await this.spool(request, (err as Error).message);
    }
  }

  /**
   * Takes over, once per bot, the spooled turns of processes that died, ahead of anything new.
   * A failure is reported and leaves their files for the next process.
   */
  replay(botId: string): Promise<void> {
    let replaying = this.replays.get(botId);
    if (!replaying) {
      const { intake, onEvent } = this.options;
      replaying = intake
        .adoptOrphans(botId, async (requests) => {
          const taken = requests.map((request) => ({ request, ...intake.accept(request) }));
          for (const t of taken) if (t.fresh) this.backlogOf(botId).push({ request: t.request, durable: t.durable });
          await Promise.all(taken.map((t) => t.durable));
        })
        .then(
          (count) => {
            if (count > 0) onEvent?.({ type: 'replayed', botId, count });
            this.forward(botId);
          },
          (error: unknown) => onEvent?.({ type: 'replay_failed', botId, error }),
        )
        .finally(() => this.replayed.add(botId));
      this.replays.set(botId, replaying);
    }
    return replaying;
  }

  /** Stops forwarding and lets go of the spool files: what is still in them is replayed by the next process. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      await Promise.allSettled([...this.replays.values()]);
      while (this.forwarders.size > 0) await Promise.allSettled([...this.forwarders.values()]);
      await this.options.intake.close();
    })();
    return this.closing;
  }

  private backlogOf(botId: string): Spooled[] {
    let list = this.backlog.get(botId);
    if (!list) this.backlog.set(botId, (list = []));
    return list;
  }

  private async spool(request: TurnRequest, reason: string): Promise<void> {
    const botId = request.inbound.botId;
    const { fresh, durable } = this.options.intake.accept(request);
    if (!fresh) return durable; // the same inbound id is spooled already
    const list = this.backlogOf(botId);
    // In the backlog before it is durable: a message arriving meanwhile queues behind it.
    const entry: Spooled = { request, durable };
    list.push(entry);
    try {
      await durable;
    } catch (err) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      throw err;
    }
    this.options.onEvent?.({ type: 'spooled', botId, messageId: request.inbound.messageId, depth: list.length, reason });
    this.forward(botId);
  }

  /** Starts the bot's forwarder unless it runs: the backlog's head into the queue, one at a time. */
  private forward(botId: string): void {
    if (this.forwarders.has(botId) || this.stopping.signal.aborted || this.depth(botId) === 0) return;
    const run = this.drain(botId).finally(() => {
      this.forwarders.delete(botId);
      this.forward(botId); // a turn spooled as the loop ended
    });
    this.forwarders.set(botId, run);
  }

  private async drain(botId: string): Promise<void> {
    const { inner, intake, onEvent } = this.options;
    const retry = this.options.retryMs ?? SPOOL_DEFAULTS.retryMs;
    const list = this.backlogOf(botId);
    let attempt = 0;
    while (list.length > 0 && !this.stopping.signal.aborted) {
      const head = list[0]!;
      try {
        await head.durable;
      } catch {
        if (list[0] === head) list.shift(); // never spooled (its enqueue rejected): not ours to forward
        continue;
      }
      try {
        await inner.enqueue(head.request);
      } catch (error) {
        attempt++;
        onEvent?.({ type: 'forward_failed', botId, depth: list.length, attempt, error });
        await pause(Math.min(retry.initial * 2 ** (attempt - 1), retry.max), this.stopping.signal);
        continue;
      }
      attempt = 0;
      list.shift();
      intake.done(head.request);
      onEvent?.({ type: 'forwarded', botId, messageId: head.request.inbound.messageId, depth: list.length });
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
