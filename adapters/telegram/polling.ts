/**
 * Long polling. The host runs it only in the process holding the bot's connection lease
 * (Telegram answers a second getUpdates caller with 409 Conflict).
 *
 * Offsets: an update is confirmed (the next getUpdates carries `offset = update_id + 1`) only
 * after its handler returned, i.e. after the turn was durably accepted. If handling fails with
 * a retryable error (Redis down: the queue refused), the offset is not advanced and the same
 * update is fetched again after a backoff, so nothing acknowledged is lost. Updates a dead leader
 * handled but had not confirmed are fetched again by the next one; ingress dedupe and the
 * idempotent commit make that harmless.
 */
import type { Update } from 'grammy/types';
import { AdapterFatalError, type AdapterLogger } from '../../src/core/adapter.js';
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
  timeoutSeconds?: number;
  dropPendingUpdates?: boolean;
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
  private offset: number | undefined;
  private webhookCleared = false;
  private backoffMs: number = TELEGRAM_DEFAULTS.backoffMs.initial;

  constructor(private readonly options: PollerOptions) {}

  /**
   * Polls until `signal` aborts (the adapter stops, or leadership is lost). Rejects with an
   * AdapterFatalError when the token is refused; the offset survives a re-run.
   */
  run(signal: AbortSignal): Promise<void> {
    return this.pollWhile(signal);
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
          throw new AdapterFatalError('TELEGRAM_UNAUTHORIZED', `Telegram rejected the bot token (${describe(err)}); check the token in bots.yaml or TELEGRAM_BOT_TOKEN`, { cause: err });
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
