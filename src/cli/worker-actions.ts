/**
 * The bodies of `bot worker` and `bot queue status`, loaded only when those commands run, so
 * every other command starts without loading BullMQ.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { BotHostError } from '../core/errors.js';
import type { BotsConfig } from '../config/schema.js';
import { createStore } from '../host/create-store.js';
import { HierarchicalSessionStore } from '../sessions/hierarchy/hierarchical-session-store.js';
import { openQueueRedis, redisUrlOf, startTurnWorker } from '../host/distributed.js';
import { resolveAgents } from '../host/host.js';
import { createLogger } from '../host/logger.js';
import { instrumentAgents, recordWorkerEvent, startRoleOps } from '../host/metrics.js';
import { Metrics } from '../ops/metrics.js';
import { logTurnLine } from '../host/turn-log.js';
import { BullMQTurnQueue } from '../queue/bullmq-turn-queue.js';
import { deadLetterKey } from '../queue/inbox-keys.js';
import { inspectInboxes, inspectOutboxes } from '../queue/queue-inspection.js';
import { describeRedis } from '../redis/redis-connection.js';
import { EXIT, loadForCommand, warnAboutModels, type GlobalOptions } from './context.js';
import { waitForShutdown } from './shutdown.js';

export interface WorkerOptions {
  concurrency?: number;
  leaseTtl?: number;
  lockDuration?: number;
  stalledInterval?: number;
  sweepInterval?: number;
  orphanAge?: number;
  turnTimeout?: number;
}

function requireBullMQ(config: BotsConfig): void {
  if (config.queue.backend !== 'bullmq') {
    throw new BotHostError('NOT_DISTRIBUTED', 'this command needs `queue.backend: bullmq` (and Redis) in bots.yaml; in the default inline mode turns run inside `bot start`');
  }
}

export async function runWorker(opts: WorkerOptions, cmd: Command): Promise<number> {
  const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  const config = loaded.config;
  requireBullMQ(config);
  const logger = createLogger(process.env.LOG_LEVEL ?? config.log.level, process.env.LOG_FORMAT ?? config.log.format);
  const redis = await openQueueRedis(config, logger);
  const store = await createStore(config.store, { warn: (m) => logger.warn(m) }, redis);
  const notices: string[] = [];
  const metrics = config.metrics.enabled ? new Metrics() : undefined;
  const configuredAgents = resolveAgents(config, process.env, notices);
  const agents = metrics ? instrumentAgents(configuredAgents, metrics) : configuredAgents;
  for (const n of notices) logger.warn(n);
  void warnAboutModels(config, (w) => logger.warn(w), { worker: true });
  const concurrency = opts.concurrency ?? config.queue.concurrency;
  const worker = startTurnWorker(config, redis, { store, agents, history: new HierarchicalSessionStore(store) }, {
    concurrency,
    ...(opts.leaseTtl ? { leaseTtlMs: opts.leaseTtl } : {}),
    ...(opts.lockDuration ? { lockDurationMs: opts.lockDuration } : {}),
    ...(opts.stalledInterval ? { stalledIntervalMs: opts.stalledInterval } : {}),
    ...(opts.sweepInterval ? { sweepIntervalMs: opts.sweepInterval } : {}),
    ...(opts.orphanAge ? { orphanAgeMs: opts.orphanAge } : {}),
    ...(opts.turnTimeout ? { turnTimeoutMs: opts.turnTimeout } : {}),
    onEvent: (e) => {
      if (metrics) recordWorkerEvent(metrics, e);
      logTurnLine(logger, e);
      if (e.type === 'turn_error') logger.warn({ session: e.sessionId, err: (e.error as Error)?.message, willRetry: e.willRetry }, 'turn failed');
      else if (e.type === 'lease_lost') logger.warn({ session: e.sessionId }, 'lease lost; turn discarded');
      else if (e.type === 'swept') logger.info({ session: e.sessionId }, 're-kicked an orphaned inbox');
    },
  });
  await worker.ready();
  const ops = metrics ? await startRoleOps({ config, metrics, logger, store, redis, reportsQueueDrain: true }) : undefined;
  // Handlers before the ready line: a signal sent on reading it must get the graceful stop.
  const shutdown = waitForShutdown();
  logger.info(
    { concurrency, redis: describeRedis(redisUrlOf(config)), queue: config.queue.name, store: config.store.backend },
    `worker ready: concurrency ${concurrency}, Redis ${describeRedis(redisUrlOf(config))}, queue ${config.queue.name}`,
  );
  const signal = await shutdown;
  logger.info({ signal }, 'worker stopping: finishing turns in flight');
  ops?.drain();
  await worker.close();
  await ops?.close();
  await store.close();
  redis.disconnect();
  logger.info('worker stopped');
  return EXIT.ok;
}

export async function queueStatus(opts: { json?: boolean }, cmd: Command): Promise<number> {
  const { config } = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  requireBullMQ(config);
  const redis = await openQueueRedis(config);
  const prefix = config.store.prefix;
  const q = new BullMQTurnQueue({ client: redis, prefix, queueName: config.queue.name });
  try {
    const counts = await q.queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized');
    const { queuedTurns, oldest, sessionsTracked } = await inspectInboxes(redis, prefix);
    const status = {
      redis: describeRedis(redisUrlOf(config)),
      queue: config.queue.name,
      jobs: counts,
      queuedTurns,
      sessionsTracked,
      oldestWaitingMs: oldest === undefined ? null : Date.now() - oldest,
      deadLetters: await redis.llen(deadLetterKey(prefix)),
      outboxes: await inspectOutboxes(redis, prefix),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `queue ${status.queue} on ${status.redis}`,
          `  kick jobs: ${counts.wait ?? 0} waiting, ${counts.active ?? 0} active, ${counts.delayed ?? 0} delayed, ${counts.failed ?? 0} failed`,
          `  turns queued: ${queuedTurns}; oldest waiting: ${status.oldestWaitingMs === null ? '—' : `${(status.oldestWaitingMs / 1000).toFixed(1)} s`}`,
          `  dead letters: ${status.deadLetters}`,
          ...status.outboxes.map((o) =>
            o.consumerGroup
              ? `  replies for bot ${o.bot}: ${o.undelivered ?? '?'} not yet read by an ingress process, ${o.inDelivery} being delivered`
              : `  replies for bot ${o.bot}: ${o.entries} kept (broadcast route, or no ingress process has read them yet)`,
          ),
        ].join('\n') + '\n',
      );
    }
  } finally {
    await q.close();
    redis.disconnect();
  }
  return EXIT.ok;
}
