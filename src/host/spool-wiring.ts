/**
 * The host's inbound spool (src/queue/inbound-spool.ts) for bots whose platform never delivers
 * a message again: where its files live, what it logs and counts, and when a process replays
 * the spool a stopped process left behind (as soon as the bot registers its delivery).
 *
 * Where: `spool/` inside the process's local data directory for not-yet-answered work — the file
 * store's `<store.path>/.intake/`, else `queue.intake_path` (default `~/.bothost/intake`). Each
 * process writes files of its own there; the directory must survive a restart of the process
 * (a volume in a container) and be used by processes of one machine only (docs/durability.md).
 */
import path from 'node:path';
import type { BotsConfig } from '../config/schema.js';
import type { TurnQueue } from '../core/turn-queue.js';
import type { Metrics } from '../ops/metrics.js';
import { SpoolingTurnQueue, type SpoolEvent } from '../queue/inbound-spool.js';
import { FileIntake } from '../queue/intake-log.js';
import { createProcessLock } from '../sessions/process-lock.js';
import type { DeliveryRouter } from './delivery-router.js';
import { intakeDirOf } from './embedded-queue.js';
import type { Logger } from './logger.js';
import { isQueueRefusal } from './queue-refusal.js';

export function spoolDirOf(config: BotsConfig): string {
  const local = config.store.backend === 'file' ? intakeDirOf(config.store.path) : path.resolve(config.queue.intake_path);
  return path.join(local, 'spool');
}

/** None with the memory store: nothing of it survives a restart, so spooling would promise nothing. */
export function createInboundSpool(config: BotsConfig, inner: TurnQueue, delivery: DeliveryRouter, logger: Logger, metrics?: Metrics): SpoolingTurnQueue | undefined {
  if (config.store.backend === 'memory') return undefined;
  const dir = spoolDirOf(config);
  const spool = new SpoolingTurnQueue({
    inner,
    intake: new FileIntake({ dir, lock: createProcessLock() }),
    refused: isQueueRefusal,
    onEvent: (event) => report(event, logger, metrics, dir),
  });
  delivery.onRegister((botId) => void spool.replay(botId));
  metrics?.watchSpool(() => spool.depths());
  return spool;
}

function report(event: SpoolEvent, logger: Logger, metrics: Metrics | undefined, dir: string): void {
  const bot = event.botId;
  switch (event.type) {
    case 'spooled':
      metrics?.spooled(bot);
      logger.warn({ bot, message: event.messageId, spooled: event.depth, reason: event.reason }, 'message spooled on local disk (the queue did not take it); it is forwarded in order once the queue accepts again');
      return;
    case 'forwarded':
      metrics?.spoolForwarded(bot);
      if (event.depth === 0) logger.info({ bot }, 'every spooled message is in the queue now');
      else logger.debug({ bot, message: event.messageId, spooled: event.depth }, 'spooled message forwarded to the queue');
      return;
    case 'forward_failed':
      // The first refusal of an outage says so, then one line in 60 (about 5 min): the queue's
      // connection reports the outage itself.
      logger[event.attempt % 60 === 1 ? 'warn' : 'debug']({ bot, spooled: event.depth, err: (event.error as Error)?.message }, 'the queue does not take spooled messages yet; retrying');
      return;
    case 'replayed':
      logger.info({ bot, messages: event.count }, 'forwarding the messages a stopped process had spooled');
      return;
    case 'replay_failed':
      logger.error({ bot, dir, err: (event.error as Error)?.message }, 'could not read the spool a stopped process left; its messages stay on disk for the next start (check the directory is readable and writable)');
  }
}
