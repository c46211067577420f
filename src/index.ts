/** The library entry point: what developers embedding bothost import. */
export * from './core/errors.js';
export * from './core/session-store.js';
export * from './core/session-key.js';
export type * from './core/inbound.js';
export type * from './core/model.js';
export type * from './core/turn-queue.js';
export { FileSessionStore, FILE_STORE_DEFAULTS, type FileSessionStoreOptions } from './sessions/file-session-store.js';
export { MemorySessionStore } from './sessions/memory-session-store.js';
export { encodeSessionId, assertSessionId, MAX_SESSION_ID_LENGTH } from './sessions/session-id.js';
