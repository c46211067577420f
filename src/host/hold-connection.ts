/**
 * Runs a single-connection adapter's connection (Telegram long polling, the Discord gateway,
 * WhatsApp's one socket) only while this process holds the bot's leadership lease — or at once
 * when there is no leadership — and reconnects after a failed connection with a capped, jittered
 * exponential backoff (reset once a connection has lasted a minute), so a flapping platform never
 * sees a reconnect storm. An AdapterFatalError stops for good.
 */
import type { AdapterLogger, Leadership } from '../core/adapter.js';

export const CONNECTION_DEFAULTS = Object.freeze({
  backoffMs: { initial: 1_000, max: 60_000 },
  /** A connection that lasted this long resets the backoff. */
  healthyAfterMs: 60_000,
});

export interface HoldConnectionOptions {
  /** Lease name (`<platform>:<botId>`, never a token). */
  name: string;
  leadership?: Leadership;
  logger: AdapterLogger;
  backoffMs?: { initial: number; max: number };
  /** Told when the connection lease is acquired (`lease`) and when a failed connection is retried (`reconnect`); for metrics. */
  onEvent?: (event: 'lease' | 'reconnect') => void;
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

export function isFatal(err: unknown): boolean {
  return (err as { fatal?: unknown })?.fatal === true;
}

export async function holdConnection(options: HoldConnectionOptions, connect: (signal: AbortSignal) => Promise<void>, stop: AbortSignal): Promise<void> {
  const { leadership, logger, name } = options;
  const limits = options.backoffMs ?? CONNECTION_DEFAULTS.backoffMs;
  let backoff = limits.initial;
  while (!stop.aborted) {
    let held = null;
    if (leadership) {
      logger.info({ lease: name, via: leadership.describe }, 'waiting for this bot\'s connection lease');
      held = await leadership.acquire(name, stop);
      if (!held) return;
      logger.info({ lease: name, fence: held.fence }, 'connection lease acquired; connecting');
      options.onEvent?.('lease');
    }
    const signal = held ? AbortSignal.any([stop, held.signal]) : stop;
    const began = Date.now();
    try {
      await connect(signal);
    } catch (err) {
      if (isFatal(err)) throw err;
      if (!signal.aborted) {
        logger.warn({ err: (err as Error)?.message ?? String(err), retryInMs: backoff }, 'connection failed; reconnecting');
        options.onEvent?.('reconnect');
      }
    } finally {
      await held?.release();
    }
    if (stop.aborted) return;
    if (held?.signal.aborted) {
      logger.warn({ lease: name }, 'connection lease lost; disconnected (another process holds it now)');
      continue;
    }
    if (Date.now() - began >= CONNECTION_DEFAULTS.healthyAfterMs) backoff = limits.initial;
    await sleep(backoff * (0.75 + Math.random() / 2), stop);
    backoff = Math.min(backoff * 2, limits.max);
  }
}
