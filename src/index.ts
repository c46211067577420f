/** The library entry point: what developers embedding bothost import. */
export * from './core/errors.js';
export * from './core/session-store.js';
export * from './core/session-key.js';
export type * from './core/inbound.js';
export type * from './core/model.js';
export type * from './core/turn-queue.js';
export * from './core/adapter.js';
export { FileSessionStore, FILE_STORE_DEFAULTS, type FileSessionStoreOptions } from './sessions/file-session-store.js';
export { MemorySessionStore } from './sessions/memory-session-store.js';
export { encodeSessionId, assertSessionId, MAX_SESSION_ID_LENGTH } from './sessions/session-id.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './sessions/redis-session-store.js';
export {
  HierarchicalSessionStore,
  type HierarchicalSessionStoreOptions,
  type ForkOptions,
  type SessionNode,
  type SnapshotSummary,
} from './sessions/hierarchy/hierarchical-session-store.js';
export * from './sessions/hierarchy/errors.js';
export { EXPORT_FORMAT, EXPORT_VERSION, type SessionExport } from './sessions/hierarchy/session-export.js';
export { PostgresSessionStore, type PostgresSessionStoreOptions } from './sessions/postgres-session-store.js';
export { SessionLease, type LeaseGrant } from './locks/session-lease.js';
export { holdLease, type HeldLease } from './locks/hold-lease.js';
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
export { createGateway, type Gateway, type GatewayOptions } from './gateway/gateway-server.js';
export { mintToken } from './gateway/auth.js';
export { webSessionKey } from './gateway/gateway-store.js';
