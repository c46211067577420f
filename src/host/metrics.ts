/**
 * Where the host's existing events meet the process's `Metrics`: the agents' model calls, the
 * inline queue's runs, the distributed worker's events, the queue depths read at scrape time,
 * and the per-role listener for `/metrics`, `/healthz`, `/readyz`. Each piece wraps something
 * and returns the same interface, so the code it wraps knows nothing of metrics.
 */
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { AgentResolver, Agent, ModelObserver } from '../agent/agent.js';
import { GATEWAY_BOT_ID } from '../core/session-key.js';
import type { TurnRequest, TurnResult } from '../core/turn-queue.js';
import type { BotsConfig } from '../config/schema.js';
import type { WorkerEvent } from '../queue/worker-options.js';
import type { Metrics, QueueDepths, TurnOutcome } from '../ops/metrics.js';
import type { OpsServer } from '../ops/ops-server.js';
import type { Logger } from './logger.js';

const seconds = (fromMs: number, toMs: number = Date.now()) => (toMs - fromMs) / 1000;

/** How a failed-for-good turn is counted: its own time limit, a lost lease, or any other failure. */
export function failureOutcome(error: unknown): TurnOutcome {
  if (error instanceof Error && (error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError'))) return 'timeout';
  if (error instanceof Error && 'code' in error && error.code === 'LEASE_LOST') return 'lease_lost';
  return 'failed';
}

/**
 * Agents whose model calls and commits are timed (`stage="model"`, every call, failed ones too;
 * `stage="commit"`, sent → answered) and whose token usage is counted (`bothost_model_tokens_total`, when the provider reports it), through
 * the agent's observer hook. The resolver's agents are fixed at start-up, so each is wrapped once.
 */
export function instrumentAgents(agents: AgentResolver, metrics: Metrics): AgentResolver {
  const wrapped = new Map<string, Agent>();
  return (id) => {
    const known = wrapped.get(id);
    if (known) return known;
    const agent = agents(id);
    const observer: ModelObserver = {
      modelCall: (ms) => metrics.stageTook(agent.id, 'model', ms / 1000),
      commit: (ms) => metrics.stageTook(agent.id, 'commit', ms / 1000),
      usage: (usage) => {
        if (usage.inputTokens !== undefined) metrics.tokensUsed(agent.id, 'input', usage.inputTokens);
        if (usage.outputTokens !== undefined) metrics.tokensUsed(agent.id, 'output', usage.outputTokens);
      },
    };
    const timed: Agent = { ...agent, observer };
    wrapped.set(id, timed);
    return timed;
  };
}

export type InlineRun = (request: TurnRequest, onPartial: (text: string) => void) => Promise<TurnResult>;

/**
 * The embedded host's turn runner, timed: `queue_wait` (accepted → started), `total` (started →
 * committed), and the outcome of each turn that succeeded. Failures are counted where the queue
 * decides they are final (`recordInlineFailure`), not once per retried attempt.
 */
export function instrumentInlineRun(run: InlineRun, metrics: Metrics): InlineRun {
  return async (request, onPartial) => {
    const start = Date.now();
    metrics.stageTook(request.agent, 'queue_wait', seconds(request.inbound.receivedAt, start));
    const result = await run(request, onPartial);
    metrics.stageTook(request.agent, 'total', seconds(start));
    metrics.turnEnded(request.agent, result.duplicate ? 'duplicate' : 'ok');
    return result;
  };
}

export function recordInlineFailure(metrics: Metrics, request: TurnRequest, error: unknown, willRetry: boolean): void {
  if (!willRetry) metrics.turnEnded(request.agent, failureOutcome(error));
}

/**
 * `stage="delivery"` of a reply sent to a platform: from its commit (`committedAt`, stamped by
 * the process that committed it — a worker on another machine: clocks should agree) to the last
 * send call settling. Told by the bot's StreamingDelivery.
 */
export function deliveryTimer(metrics: Metrics): (result: TurnResult) => void {
  return (result) => {
    // Clamped at 0: `committedAt` comes from the monotonic clock (or another machine's), which may run a few ms ahead of Date.now().
    if (result.committedAt !== undefined && !result.duplicate) metrics.stageTook(result.request.agent, 'delivery', Math.max(0, Date.now() - result.committedAt) / 1000);
  };
}

/** The distributed worker's events as metrics (`TurnWorkerOptions.onEvent`). */
export function recordWorkerEvent(metrics: Metrics, event: WorkerEvent): void {
  switch (event.type) {
    case 'turn': {
      const agent = event.agent ?? 'unknown';
      metrics.turnEnded(agent, event.duplicate ? 'duplicate' : 'ok');
      if (event.startedAt !== undefined) {
        metrics.stageTook(agent, 'total', seconds(event.startedAt));
        if (event.receivedAt !== undefined) metrics.stageTook(agent, 'queue_wait', seconds(event.receivedAt, event.startedAt));
      }
      break;
    }
    case 'turn_error':
      if (!event.willRetry) metrics.turnEnded(event.agent ?? 'unknown', failureOutcome(event.error));
      break;
    case 'lease_lost':
      metrics.turnEnded(event.agent ?? 'unknown', 'lease_lost');
      if (event.fenced) metrics.fenceRejected();
      break;
    default:
      break;
  }
}

/**
 * BullMQ's own counts of the kick queue, the dead-letter list, the oldest waiting turn and each
 * bot's unsent replies (src/queue/queue-inspection.ts), read when scraped. The oldest turn is
 * found by reading the head of every inbox with queued turns (pipelined, in pages): cheap while
 * the queue keeps up, and bounded by the sessions waiting, not by all sessions. The Queue shares
 * `redis` (no connection of its own); `close()` releases it.
 */
export function queueDepthReader(redis: Redis, config: BotsConfig): { read(): Promise<QueueDepths>; close(): Promise<void> } {
  const prefix = config.store.prefix;
  // BullMQ and the inbox/outbox readers (their Lua scripts) are imported on the first scrape:
  // the host module (and `bot chat`) never loads them.
  let queue: Promise<Queue> | undefined;
  return {
    async read() {
      queue ??= import('bullmq').then(({ Queue }) => new Queue(config.queue.name, { connection: redis, prefix: `${prefix}:bull` }));
      const [{ deadLetterKey }, { inspectInboxes, inspectOutboxes }] = await Promise.all([import('../queue/inbox-keys.js'), import('../queue/queue-inspection.js')]);
      const [counts, deadLetters, inboxes, outboxes] = await Promise.all([
        (await queue).getJobCounts('wait', 'prioritized', 'active'),
        redis.llen(deadLetterKey(prefix)),
        inspectInboxes(redis, prefix),
        // The bots this deployment configures, and the gateway's: no keyspace scan per scrape.
        inspectOutboxes(redis, prefix, [...config.bots.map((b) => b.id), GATEWAY_BOT_ID]),
      ]);
      return {
        waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        deadLetters,
        oldestWaitingSeconds: inboxes.oldest === undefined ? 0 : Math.max(0, (Date.now() - inboxes.oldest) / 1000),
        // Bots read through a consumer group; a broadcast route's stream is kept for every reader, not pending.
        outboxPending: outboxes.filter((o) => o.consumerGroup).map((o) => ({ bot: o.bot, pending: (o.undelivered ?? 0) + o.inDelivery })),
      };
    },
    async close() {
      await (await queue)?.close();
    },
  };
}

export interface RoleOpsOptions {
  config: BotsConfig;
  metrics: Metrics;
  logger: Logger;
  store: { sessionExists(id: string): Promise<boolean> };
  /** The queue's Redis (distributed roles): its depths become gauges, and /readyz pings it. */
  redis?: Redis;
  /** The gateway serves the endpoints on its own server: no listener here. */
  mountedOnGateway?: boolean;
  /** A worker: `/readyz` also answers 503 while `bot queue drain` pauses the queue. */
  reportsQueueDrain?: boolean;
}

export interface RoleOps {
  readonly server: OpsServer | undefined;
  /** /readyz answers 503 from now on (SIGTERM received). */
  drain(): void;
  close(): Promise<void>;
}

/**
 * The metrics side of a long-running role. A taken port is logged and the role runs without
 * the listener: a second process on one machine must not fail to start over its metrics.
 */
export async function startRoleOps(options: RoleOpsOptions): Promise<RoleOps> {
  const { config, metrics, logger } = options;
  let draining = false;
  const depths = options.redis ? queueDepthReader(options.redis, config) : undefined;
  if (depths) metrics.watchQueue(() => depths.read());
  let server: OpsServer | undefined;
  if (config.metrics.enabled && !options.mountedOnGateway) {
    const { readinessProbe, startOpsServer } = await import('../ops/ops-server.js');
    const { redis } = options;
    const queueRef = redis && options.reportsQueueDrain ? { redis, prefix: config.store.prefix, queueName: config.queue.name } : undefined;
    const isQueueDraining = queueRef ? (await import('../queue/queue-drain.js')).isQueueDraining : undefined;
    const readiness = readinessProbe({
      store: options.store,
      ...(redis ? { redis } : {}),
      draining: () => draining,
      ...(queueRef && isQueueDraining ? { queueDraining: () => isQueueDraining(queueRef) } : {}),
    });
    try {
      server = await startOpsServer({ host: config.metrics.host, port: config.metrics.port, metrics, readiness });
      logger.info({ url: `${server.url}/metrics` }, `metrics on ${server.url}/metrics (health: /healthz, /readyz)`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      logger.warn(
        { host: config.metrics.host, port: config.metrics.port, err: code },
        `metrics not served: cannot listen on ${config.metrics.host}:${config.metrics.port} (${code}); another process may use it — give each process its own metrics.port (0: any free port)`,
      );
    }
  }
  return {
    server,
    drain() {
      draining = true;
    },
    async close() {
      await server?.close();
      await depths?.close();
    },
  };
}
