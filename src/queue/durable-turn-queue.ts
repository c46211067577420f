/**
 * The inline queue with a durable intake (embedded mode, file store): `enqueue` resolves only
 * once the turn is fdatasync'd in this process's intake file, and turns a dead process had
 * accepted but not answered are run again here — once the bot they belong to has a delivery
 * route in this process, so their replies reach the platform (see src/queue/intake-log.ts).
 *
 * Order (I3): while a bot's orphaned turns are being taken over, its new turns wait, so a
 * recovered turn always runs before anything the platform sends after the restart.
 * Dedupe (I2): an inbound id already pending here is queued once; a re-run of a turn that
 * committed before the crash gets the stored reply from the commit's inbound-id dedupe, with
 * no model call.
 */
import { BotHostError } from '../core/errors.js';
import type { TurnQueue, TurnRequest } from '../core/turn-queue.js';
import type { FileIntake } from './intake-log.js';

/** What this wrapper needs of the queue that runs the turns. */
export interface RunningQueue {
  enqueue(request: TurnRequest): Promise<void>;
  close(): Promise<void>;
}

export class DurableTurnQueue implements TurnQueue {
  private readonly recovering = new Map<string, Promise<void>>();
  private closed = false;

  /**
   * `inner` must call `intake.done(request)` when a turn is over for good (InlineTurnQueue
   * `onSettled`). Turns of sessions `volatile` says are kept in memory only (gateway sessions
   * with `persist: false`) skip the intake: nothing of theirs is written to disk.
   */
  constructor(
    private readonly inner: RunningQueue,
    private readonly intake: FileIntake,
    private readonly volatile: (sessionId: string) => boolean = () => false,
  ) {}

  async enqueue(request: TurnRequest): Promise<void> {
    if (this.closed) throw new BotHostError('QUEUE_CLOSED', 'the turn queue is shutting down; try again shortly');
    if (this.volatile(request.sessionId)) return this.inner.enqueue(request);
    await this.recovering.get(request.inbound.botId);
    const { fresh, durable } = this.intake.accept(request);
    await durable;
    if (fresh) await this.inner.enqueue(request);
  }

  /**
   * Runs again, in this process, the turns of `botId` that a dead process accepted and never
   * answered. Call once the bot's delivery is registered. Resolves with how many were taken over.
   */
  recover(botId: string): Promise<number> {
    const done = this.intake.adoptOrphans(botId, async (requests) => {
      const accepted = requests.map((r) => ({ request: r, ...this.intake.accept(r) }));
      await Promise.all(accepted.map((a) => a.durable));
      for (const a of accepted) if (a.fresh) await this.inner.enqueue(a.request);
    });
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.recovering.set(botId, settled);
    void settled.then(() => {
      if (this.recovering.get(botId) === settled) this.recovering.delete(botId);
    });
    return done;
  }

  /** Stops accepting, waits for the turns in flight, then lets go of the intake files. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.recovering.values()]);
    await this.inner.close();
    await this.intake.close();
  }
}
