/**
 * The embedded-mode turn queue: turns run in this process (InlineTurnQueue), wrapped in a
 * durable intake (src/queue/intake-log.ts): a turn is fdatasync'd there before `enqueue`
 * resolves — what lets an adapter acknowledge the platform — and turns a killed process accepted
 * but never answered run again here as soon as their bot registers its delivery. The intake
 * lives beside the file store's sessions (`<store.path>/.intake/`); with a Redis or Postgres
 * store in a local directory of its own (`queue.intake_path`), so a restart on the same machine
 * (or with the same volume) recovers it. The memory store keeps nothing across restarts, so it
 * gets no intake (see docs/durability.md), nor loads its modules.
 */
import path from 'node:path';
import type { BotsConfig } from '../config/schema.js';
import type { TurnQueue } from '../core/turn-queue.js';
import { InlineTurnQueue, type InlineTurnQueueOptions } from '../queue/inline-turn-queue.js';
import type { DeliveryRouter } from './delivery-router.js';
import type { Logger } from './logger.js';

/** Where the file store's intake lives: a dot-directory the store's session listing skips. */
export const intakeDirOf = (storePath: string) => path.join(path.resolve(storePath), '.intake');

/** `volatile`: sessions kept in memory only (their turns need no intake, and get none). */
export async function createEmbeddedQueue(
  config: BotsConfig,
  run: InlineTurnQueueOptions['run'],
  delivery: DeliveryRouter,
  logger: Logger,
  options: { volatile?: (sessionId: string) => boolean; onTurnError?: InlineTurnQueueOptions['onError'] },
): Promise<TurnQueue> {
  const { volatile, onTurnError } = options;
  const onError: InlineTurnQueueOptions['onError'] = (request, error, willRetry) => {
    onTurnError?.(request, error, willRetry);
    logger.warn({ session: request.sessionId, err: (error as Error).message, willRetry }, 'turn failed');
  };
  if (config.store.backend === 'memory') return new InlineTurnQueue({ run, delivery, concurrency: config.queue.concurrency, onError });

  const [{ DurableTurnQueue }, { FileIntake }, { createProcessLock }] = await Promise.all([
    import('../queue/durable-turn-queue.js'),
    import('../queue/intake-log.js'),
    import('../sessions/process-lock.js'),
  ]);

  const dir = config.store.backend === 'file' ? intakeDirOf(config.store.path) : path.resolve(config.queue.intake_path);
  const intake = new FileIntake({ dir, lock: createProcessLock() });
  const inline = new InlineTurnQueue({ run, delivery, concurrency: config.queue.concurrency, onError, onSettled: (request) => intake.done(request) });
  const queue = new DurableTurnQueue(inline, intake, volatile);
  delivery.onRegister((botId) => {
    queue.recover(botId).then(
      (n) => n > 0 && logger.info({ bot: botId, turns: n }, 'running again the turns a stopped process had accepted but not answered'),
      (err: Error) => logger.error({ bot: botId, err: err.message }, 'could not recover the turns a stopped process had accepted; they stay on disk for the next start'),
    );
  });
  return queue;
}
