/**
 * Long polling with leadership: only the process holding the bot's lease calls getUpdates
 * (Telegram answers a second caller with 409 Conflict). Without a Leadership this process
 * polls alone.
 *
 * Offsets: an update is confirmed (the next getUpdates carries `offset = update_id + 1`) only
 * after its handler returned, i.e. after the turn was durably accepted. If handling fails with
 * a retryable error (Redis down: the queue refused), the offset is not advanced and the same
 * update is fetched again after a backoff, so nothing acknowledged is lost. Updates a dead leader
 * handled but had not confirmed are fetched again by the next one; ingress dedupe and the
 * idempotent commit make that harmless.
 */
import type { Update } from 'grammy/types';
import type { AdapterLogger, HeldLeadership, Leadership } from '../../src/core/adapter.js';
import { BotHostError } from '../../src/core/errors.js';
import { decisionOf } from './api-errors.js';
import { TELEGRAM_DEFAULTS } from './config.js';
import { describe } from './send.js';

export interface PollerOptions {
  api: {
    getUpdates(params: { offset?: number; timeout: number; allowed_updates: string[] }, signal: AbortSignal): Promise<Update[]>;
    deleteWebhook(params: { drop_pending_updates: boolean }): Promise<unknown>;
  };
  handle(update: Update): Promise<void>;
  /** True when a handler failure means "try this update again" (the queue refused it). */
  isRetryable(err: unknown): boolean;
  logger: AdapterLogger;
  leadership?: Leadership;
  /** The lease name: the bot id (never the token). */
  leaderName: string;
  timeoutSeconds?: number;
  dropPendingUpdates?: boolean;
  /** Called once when polling cannot continue (the token was revoked). */
  onFatal(err: BotHostError): void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class LongPoller {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private offset: number | undefined;
  private webhookCleared = false;
  private backoffMs: number = TELEGRAM_DEFAULTS.backoffMs.initial;

  constructor(private readonly options: PollerOptions) {}

  /** Starts the loop in the background. Safe to call twice. */
  start(): void {
    this.loop ??= this.run().catch((err) => {
      this.options.logger.error({ err: describe(err) }, 'telegram polling stopped');
    });
  }

  /** Stops fetching (aborts a long poll in flight), gives up leadership. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { leadership, logger, leaderName } = this.options;
    while (!this.stopping.signal.aborted) {
      let held: HeldLeadership | null = null;
      if (leadership) {
        logger.info({ bot: leaderName, via: leadership.describe }, 'waiting for telegram polling leadership');
        held = await leadership.acquire(`telegram:${leaderName}`, this.stopping.signal);
        if (!held) return;
        logger.info({ bot: leaderName, fence: held.fence }, 'telegram polling leadership acquired; polling');
      }
      const signal = held ? AbortSignal.any([this.stopping.signal, held.signal]) : this.stopping.signal;
      try {
        await this.pollWhile(signal);
      } finally {
        await held?.release();
      }
      if (held?.signal.aborted && !this.stopping.signal.aborted) logger.warn({ bot: leaderName }, 'telegram polling leadership lost; stopped polling');
    }
  }

  private async pollWhile(signal: AbortSignal): Promise<void> {
    const { api, logger } = this.options;
    while (!signal.aborted) {
      let updates: Update[];
      try {
        if (!this.webhookCleared) {
          // getUpdates answers 409 while a webhook is set.
          await api.deleteWebhook({ drop_pending_updates: this.options.dropPendingUpdates ?? false });
          this.webhookCleared = true;
        }
        updates = await api.getUpdates(
          { ...(this.offset !== undefined ? { offset: this.offset } : {}), timeout: this.options.timeoutSeconds ?? TELEGRAM_DEFAULTS.pollTimeoutSeconds, allowed_updates: ['message'] },
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        const decision = decisionOf(err);
        if (decision === 'fatal') {
          const fatal = new BotHostError('TELEGRAM_UNAUTHORIZED', `Telegram rejected the bot token (${describe(err)}); check the token in bots.yaml or TELEGRAM_BOT_TOKEN`, { cause: err });
          this.options.onFatal(fatal);
          throw fatal;
        }
        logger.warn(
          { err: describe(err), retryInMs: this.backoffMs },
          decision === 'conflict' ? 'another process or a webhook is taking this bot\'s updates (409); retrying' : 'getUpdates failed; retrying',
        );
        await this.backoff(signal);
        continue;
      }
      this.backoffMs = TELEGRAM_DEFAULTS.backoffMs.initial;
      for (const update of updates) {
        if (signal.aborted) return;
        try {
          await this.options.handle(update);
        } catch (err) {
          if (this.options.isRetryable(err)) {
            logger.warn({ update: update.update_id, err: describe(err), retryInMs: this.backoffMs }, 'update not accepted (queue unavailable); it will be fetched again');
            await this.backoff(signal);
            break;
          }
          logger.error({ update: update.update_id, err: describe(err) }, 'update could not be handled; skipped');
        }
        this.offset = update.update_id + 1;
      }
    }
  }

  private async backoff(signal: AbortSignal): Promise<void> {
    await sleep(this.backoffMs * (0.75 + Math.random() / 2), signal);
    this.backoffMs = Math.min(this.backoffMs * 2, TELEGRAM_DEFAULTS.backoffMs.max);
  }
}
