/**
 * The library entry point: sessions and their contracts — light to import (no Redis, Postgres,
 * queue, gateway or model client is loaded until used). The host, queue, gateway, models and
 * config loader are in `bothost/runtime`.
 */
export * from './core/errors.js';
export * from './core/session-store.js';
export * from './core/session-key.js';
export type * from './core/inbound.js';
export type * from './core/model.js';
export type * from './core/turn-queue.js';
export type * from './core/adapter.js';
export type * from './core/key-value.js';
export { AdapterFatalError, FormattingRejectedError } from './core/adapter-errors.js';
export { splitMarkdown } from './core/split-text.js';
export { FileSessionStore, FILE_STORE_DEFAULTS, type FileSessionStoreOptions } from './sessions/file-session-store.js';
export { MemorySessionStore } from './sessions/memory-session-store.js';
export { encodeSessionId, assertSessionId, MAX_SESSION_ID_LENGTH } from './core/session-id.js';
export { RedisSessionStore, type RedisSessionStoreOptions } from './sessions/redis-session-store.js';
export { PostgresSessionStore, type PostgresSessionStoreOptions } from './sessions/postgres-session-store.js';
export {
  HierarchicalSessionStore,
  type HierarchicalSessionStoreOptions,
  type ForkOptions,
  type SessionNode,
  type SnapshotSummary,
} from './sessions/hierarchy/hierarchical-session-store.js';
export * from './sessions/hierarchy/errors.js';
export { EXPORT_FORMAT, EXPORT_VERSION, type SessionExport } from './sessions/hierarchy/session-export.js';
