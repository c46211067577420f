/**
 * The bodies of `bot worker` and `bot queue status`, loaded only when those commands run, so
 * every other command starts without loading BullMQ.
 */
import type { Command } from 'commander';
import { BotHostError } from '../core/errors.js';
import type { BotsConfig } from '../config/schema.js';
import { createStore } from '../host/create-store.js';
import { HierarchicalSessionStore } from '../sessions/hierarchy/hierarchical-session-store.js';
import { openQueueRedis, redisUrlOf, startTurnWorker } from '../host/distributed.js';
import { resolveAgents } from '../host/host.js';
import { createLogger } from '../host/logger.js';
import { BullMQTurnQueue } from '../queue/bullmq-turn-queue.js';
import { deadLetterKey, inboxIndexKey, inboxKeys } from '../queue/inbox-keys.js';
import { describeRedis } from '../queue/redis-connection.js';
import { EXIT, loadForCommand, type GlobalOptions } from './context.js';
import { waitForShutdown } from './shutdown.js';

export interface WorkerOptions {
  concurrency?: number;
  leaseTtl?: number;
  lockDuration?: number;
  stalledInterval?: number;
  sweepInterval?: number;
  orphanAge?: number;
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
  const logger = createLogger(process.env.LOG_LEVEL ?? config.log.level);
  const redis = await openQueueRedis(config);
  const store = await createStore(config.store, { warn: (m) => logger.warn(m) }, redis);
  const notices: string[] = [];
  const agents = resolveAgents(config, process.env, notices);
  for (const n of notices) logger.warn(n);
  const concurrency = opts.concurrency ?? config.queue.concurrency;
  const worker = startTurnWorker(config, redis, { store, agents, history: new HierarchicalSessionStore(store) }, {
    concurrency,
    ...(opts.leaseTtl ? { leaseTtlMs: opts.leaseTtl } : {}),
    ...(opts.lockDuration ? { lockDurationMs: opts.lockDuration } : {}),
    ...(opts.stalledInterval ? { stalledIntervalMs: opts.stalledInterval } : {}),
    ...(opts.sweepInterval ? { sweepIntervalMs: opts.sweepInterval } : {}),
    ...(opts.orphanAge ? { orphanAgeMs: opts.orphanAge } : {}),
    onEvent: (e) => {
      if (e.type === 'turn_error') logger.warn({ session: e.sessionId, err: (e.error as Error)?.message, willRetry: e.willRetry }, 'turn failed');
      else if (e.type === 'lease_lost') logger.warn({ session: e.sessionId }, 'lease lost; turn discarded');
      else if (e.type === 'swept') logger.info({ session: e.sessionId }, 're-kicked an orphaned inbox');
    },
  });
  await worker.ready();
  // Handlers before the ready line: a signal sent on reading it must get the graceful stop.
  const shutdown = waitForShutdown();
  logger.info(
    { concurrency, redis: describeRedis(redisUrlOf(config)), queue: config.queue.name, store: config.store.backend },
    `worker ready: concurrency ${concurrency}, Redis ${describeRedis(redisUrlOf(config))}, queue ${config.queue.name}`,
  );
  const signal = await shutdown;
  logger.info({ signal }, 'worker stopping: finishing turns in flight');
  await worker.close();
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
    const sessions = await redis.zrange(inboxIndexKey(prefix), 0, 199);
    let queuedTurns = 0;
    let oldest: number | undefined;
    for (const id of sessions) {
      const keys = inboxKeys(prefix, id);
      const [len, head] = await Promise.all([redis.llen(keys.inbox), redis.lindex(keys.inbox, 0)]);
      queuedTurns += len;
      const at = head ? (JSON.parse(head) as { inbound?: { receivedAt?: number } }).inbound?.receivedAt : undefined;
      if (at !== undefined) oldest = Math.min(oldest ?? at, at);
    }
    const status = {
      redis: describeRedis(redisUrlOf(config)),
      queue: config.queue.name,
      jobs: counts,
      queuedTurns,
      sessionsTracked: await redis.zcard(inboxIndexKey(prefix)),
      oldestWaitingMs: oldest === undefined ? null : Date.now() - oldest,
      deadLetters: await redis.llen(deadLetterKey(prefix)),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `queue ${status.queue} on ${status.redis}`,
          `  kick jobs: ${counts.wait ?? 0} waiting, ${counts.active ?? 0} active, ${counts.delayed ?? 0} delayed, ${counts.failed ?? 0} failed`,
          `  turns queued: ${queuedTurns}; oldest waiting: ${status.oldestWaitingMs === null ? '—' : `${(status.oldestWaitingMs / 1000).toFixed(1)} s`}`,
          `  dead letters: ${status.deadLetters}`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    await q.close();
    redis.disconnect();
  }
  return EXIT.ok;
}
