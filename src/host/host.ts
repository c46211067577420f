/**
 * The host: everything a process needs to run turns, assembled once from bots.yaml — the
 * store, the agents with their models, the turn queue, delivery routing and the ingress chain
 * each adapter feeds. Adapters and the CLI build on this; nothing here knows a platform.
 */
import type { Redis } from 'ioredis';
import { UnknownNameError } from '../core/errors.js';
import type { InboundMessage } from '../core/inbound.js';
import type { SessionLog } from '../core/session-store.js';
import type { TurnQueue, TurnRequest } from '../core/turn-queue.js';
import type { Agent, AgentResolver } from '../agent/agent.js';
import { runTurn } from '../agent/run-turn.js';
import type { BotsConfig } from '../config/schema.js';
import { createIngress, RecentIds, type BotPolicy, type IngressContext, type IngressDeps, type IngressOutcome } from '../ingress/index.js';
import { createModel } from '../models/create-model.js';
import type { InlineTurnQueue } from '../queue/inline-turn-queue.js';
import { HierarchicalSessionStore } from '../sessions/hierarchy/hierarchical-session-store.js';
import { gatewayStoreKind, isWebSessionKey, withGatewaySessions } from '../sessions/web-sessions.js';
import { createStore } from './create-store.js';
import { DeliveryRouter } from './delivery-router.js';
import { createEmbeddedQueue } from './embedded-queue.js';
import { resetPolicyResolver } from './reset-policies.js';
import { RunningTurns } from './running-turns.js';
import type { Logger } from './logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { InlineRun } from './metrics.js';

export interface Host {
  readonly config: BotsConfig;
  readonly store: SessionLog;
  /** The same sessions through the hierarchy: stitched histories of forks, snapshots, reverts. */
  readonly sessions: HierarchicalSessionStore;
  readonly agents: AgentResolver;
  readonly queue: TurnQueue;
  readonly delivery: DeliveryRouter;
  /** One line per thing the operator should know at start-up (e.g. the echo model fallback). */
  readonly notices: string[];
  /** The queue's Redis in distributed mode (metrics read queue depths from it, /readyz pings it). */
  readonly queueRedis?: Redis;
  /** Feed one inbound message through the ingress chain of `bot`. */
  ingest(bot: BotPolicy, message: InboundMessage, reply: (text: string) => Promise<void>, options?: IngestRouting): Promise<IngressOutcome | undefined>;
  /**
   * Stop the running turn of `sessionId` (only the one for inbound `messageId` when given): the
   * reply written so far is committed, marked stopped. Embedded mode: true when a turn was
   * running here and is being stopped. Distributed mode: the request is published to the
   * workers (true when at least one listens); the worker holding the session's lease stops it.
   */
  stopTurn(sessionId: string, messageId?: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface IngestRouting {
  /**
   * The platform never delivers this message again: if the queue cannot take it now, spool it on
   * local disk (resolves `enqueued` once fdatasync'd) and forward it when the queue accepts again.
   */
  spool?: boolean;
}

export interface HostOptions {
  env?: Record<string, string | undefined>;
  logger: Logger;
  /** This process's metrics; absent: nothing is recorded (bots.yaml `metrics.enabled: false`). */
  metrics?: Metrics;
  /**
   * Set up the inbound spool (default true). False for a process that feeds no platform, such as
   * the terminal chat: it never ingests with `spool`, so neither the spool nor its modules load.
   */
  inboundSpool?: boolean;
}


export function resolveAgents(config: BotsConfig, env: Record<string, string | undefined>, notices: string[]): AgentResolver {
  const agents = new Map<string, Agent>();
  for (const [id, a] of Object.entries(config.agents)) {
    const { model, notice } = createModel(a, env);
    if (notice) notices.push(`agent ${id}: ${notice}`);
    else if (a.model === 'echo') {
      notices.push(`agent ${id}: using the offline echo model; set BOT_MODEL and OPENAI_BASE_URL / OPENAI_API_KEY for a real one`);
    }
    agents.set(id, { id, name: a.name ?? id, instructions: a.instructions, maxHistory: a.max_history, model });
  }
  return (id) => {
    const agent = agents.get(id);
    if (!agent) throw new UnknownNameError('agent', id, [...agents.keys()]);
    return agent;
  };
}

export async function createHost(config: BotsConfig, options: HostOptions): Promise<Host> {
  const { logger } = options;
  const env = options.env ?? process.env;
  const notices: string[] = [];
  const distributed = config.queue.backend === 'bullmq';
  // Loaded only in distributed mode, so the embedded host never loads BullMQ.
  const dist = distributed ? await import('./distributed.js') : undefined;
  const redis = dist ? await dist.openQueueRedis(config, logger) : undefined;
  const storeLogger = { warn: (m: string) => logger.warn(m) };
  // Gateway sessions (`bot_web_…`) may live in a store of their own (gateway.session.persist).
  const store = withGatewaySessions(config, await createStore(config.store, storeLogger, redis), storeLogger);
  const { metrics } = options;
  // Its instruments load only for a process that records metrics (not `bot chat`).
  const instrument = metrics ? { metrics, ...(await import('./metrics.js')) } : undefined;
  // A distributed ingress runs no model (the workers do, with their own endpoint settings), so
  // what this process's environment would pick — often the echo model — is not worth a notice.
  const configured = resolveAgents(config, env, distributed ? [] : notices);
  const agents = instrument ? instrument.instrumentAgents(configured, instrument.metrics) : configured;
  const delivery = new DeliveryRouter();
  const sessions = new HierarchicalSessionStore(store);
  const running = new RunningTurns();
  const runPlain: InlineRun = (request, onPartial) => running.run(request, (signal) => runTurn({ store, agents, history: sessions }, request, { onPartial, signal }));
  const run = instrument ? instrument.instrumentInlineRun(runPlain, instrument.metrics) : runPlain;
  const ingressQueue =
    dist && redis
      ? await dist.openIngressQueue(config, redis, delivery, {
          onEvent: (e) => {
            if (e.type === 'possible_duplicate') logger.warn({ bot: e.botId, inbound: e.inboundId, kind: e.kind }, 'delivering a reply whose earlier send was interrupted (its process died mid-send); the user may see it twice');
            else if (e.type === 'send_failed') logger[e.willRetry ? 'warn' : 'error']({ bot: e.botId, inbound: e.inboundId, err: (e.error as Error)?.message, willRetry: e.willRetry }, e.willRetry ? 'reply send failed; retrying' : 'reply send failed for good; dropped');
            else if (e.type === 'claimed') logger.info({ bot: e.botId, count: e.count }, 'took over undelivered replies from a stopped ingress process');
            else if (e.type === 'bad_entry') logger.warn({ bot: e.botId, id: e.id }, 'skipped an outbox entry that is not a reply');
            else logger.debug({ bot: e.botId, err: (e.error as Error)?.message }, 'outbox read failed; retrying');
          },
        })
      : undefined;
  if (distributed) notices.push(`turns run on \`bot worker\` processes (queue "${config.queue.name}" on Redis)`);
  const webInMemory = gatewayStoreKind(config) === 'memory';
  const onTurnError = instrument ? (request: TurnRequest, error: unknown, willRetry: boolean) => instrument.recordInlineFailure(instrument.metrics, request, error, willRetry) : undefined;
  const queue =
    ingressQueue?.queue ?? (await createEmbeddedQueue(config, run, delivery, logger, { volatile: (id) => webInMemory && isWebSessionKey(id), ...(onTurnError ? { onTurnError } : {}) }));
  const spoolingWanted = options.inboundSpool !== false;
  const spool = spoolingWanted ? (await import('./spool-wiring.js')).createInboundSpool(config, queue, delivery, logger, metrics) : undefined;
  const ingressDeps: Omit<IngressDeps, 'queue'> = {
    // /new and /status go through the hierarchy: /new on a fork must forget what it inherited.
    store: sessions,
    seen: new RecentIds(),
    resetPolicyFor: resetPolicyResolver(config),
    describeAgent: (id) => {
      const a = agents(id);
      return { name: a.name, model: distributed ? `${config.agents[id]?.model ?? 'unknown'}, run by the workers` : a.model.description };
    },
  };
  // One chain per routing; both share `seen`, so a message is deduped across them.
  const ingress = createIngress({ ...ingressDeps, queue });
  const spoolingIngress = spool ? createIngress({ ...ingressDeps, queue: spool }) : ingress;

  let closed: Promise<void> | undefined;
  return {
    config,
    store,
    sessions,
    agents,
    queue,
    delivery,
    notices,
    ...(redis ? { queueRedis: redis } : {}),
    async ingest(bot, message, reply, options = {}) {
      if (options.spool && !spoolingWanted) throw new Error('host: ingest with `spool` on a host opened with inboundSpool: false');
      const ctx: IngressContext = { message, bot, reply };
      await (options.spool ? spoolingIngress : ingress)(ctx);
      // The line tests and operators watch for: from here the platform may be told "received".
      if (ctx.outcome === 'enqueued') logger.debug({ bot: bot.id, message: message.messageId }, 'message accepted');
      return ctx.outcome;
    },
    async stopTurn(sessionId, messageId) {
      if (ingressQueue && redis) return (await dist!.publishStop(config, redis, { sessionId, ...(messageId !== undefined ? { messageId } : {}) })) > 0;
      return running.stop(sessionId, messageId);
    },
    close() {
      closed ??= (async () => {
        await spool?.close();
        await queue.close();
        await ingressQueue?.close();
        await store.close();
        redis?.disconnect();
      })();
      return closed;
    },
  };
}
