/**
 * The start/stop contract every adapter keeps (see `PlatformAdapter`): `start` runs once (a
 * second call returns the same promise), a start after `stop` is refused with ADAPTER_STOPPED,
 * the caller's signal and `stop` both abort a start still in progress, and `stop` runs once —
 * abort, wait for the start to settle, then the adapter's own cleanup.
 */
import { BotHostError } from './errors.js';

export interface AdapterLifecycle {
  start(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  /** Aborted once `stop` was called. */
  readonly stopping: AbortSignal;
}

/** `what`: the bot, for messages (`telegram bot "support"`). */
export function adapterLifecycle(what: string, run: (signal: AbortSignal) => Promise<void>, cleanup: () => Promise<void>): AdapterLifecycle {
  const stopping = new AbortController();
  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    stopping: stopping.signal,
    start(signal) {
      if (stopped) return Promise.reject(new BotHostError('ADAPTER_STOPPED', `${what} was stopped`));
      started ??= run(signal ? AbortSignal.any([signal, stopping.signal]) : stopping.signal);
      return started;
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await started?.catch(() => undefined);
        await cleanup();
      })();
      return stopped;
    },
  };
}
