/**
 * `bothost/runtime`: what runs bots — config, the host, turns, models, the turn queues and worker,
 * leases, delivery routing, the gateway, and the adapter seam's helpers. Heavier to import than
 * `bothost` (it loads zod, yaml, BullMQ, ioredis, ws).
 */
export { loadConfig, parseConfig, type LoadedConfig } from './config/load.js';
export { BotsConfigSchema, type BotsConfig } from './config/schema.js';
export { createHost, type Host } from './host/host.js';
export { runTurn, type TurnDeps } from './agent/run-turn.js';
export type { Agent } from './agent/agent.js';
export { createEchoModel } from './models/echo-model.js';
export { createOpenAICompatibleModel } from './models/openai-compatible-model.js';
export { InlineTurnQueue } from './queue/inline-turn-queue.js';
export { BullMQTurnQueue } from './queue/bullmq-turn-queue.js';
export { TurnWorker } from './queue/turn-worker.js';
export { DeliveryRouter, type RouteOptions } from './host/delivery-router.js';
export { OutboxConsumer, OUTBOX_DEFAULTS, type OutboxEvent } from './queue/outbox-consumer.js';
export { RedisDeliveryPublisher } from './queue/redis-delivery.js';
export { SessionLease, type LeaseGrant } from './locks/session-lease.js';
export { holdLease, type HeldLease } from './locks/hold-lease.js';
export { createGateway, type Gateway, type GatewayOptions } from './gateway/gateway-server.js';
export { mintToken } from './gateway/auth.js';
export { webSessionKey } from './sessions/web-sessions.js';
export { COMMON_BOT_CONFIG, LEADER_CONFIG, botPolicyOf } from './core/adapter.js';
