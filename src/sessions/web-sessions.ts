/**
 * Where gateway (web) sessions live, and how they share the host's `SessionLog` — here, below
 * both the host (which routes them) and the gateway (which keys them).
 *
 * Web sessions have their own key namespace, `bot_web_<escaped session_id>` (no other platform
 * produces `bot_web_…`). The store behind that namespace:
 * - `queue.backend: bullmq`: the host's shared store (redis/postgres): workers commit there;
 * - otherwise `gateway.session.persist: false`: in this process's memory;
 * - `persist: true` and a shared host store (redis/postgres): the host's store, so several gateways
 *   can resume each other's sessions;
 * - `persist: true` otherwise: a file store at `gateway.session.persist_path`, keeping
 *   `gateway.session.max_messages` per session.
 * When the gateway store is a separate one, `routeWebSessions` wraps both behind one `SessionLog`,
 * so turns, `/new`, `/status` and `bot session …` reach gateway sessions with no special case.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { BotsConfig } from '../config/schema.js';
import type { EntriesOptions, ListOptions, Metadata, Role, SessionLog, TurnCommit } from '../core/session-store.js';
import { sessionKey, WEB_PLATFORM } from '../core/session-key.js';
import { FileSessionStore, type StoreLogger } from './file-session-store.js';
import { MemorySessionStore } from './memory-session-store.js';
import { MAX_SESSION_ID_LENGTH } from '../core/session-id.js';

export const WEB_KEY_PREFIX = `bot_${WEB_PLATFORM}_`;

/**
 * The store key of a client's session id (injective: `a.b` and `a_b` stay two sessions). An id
 * whose escaped form would pass the store's id limit (long non-ASCII ids: 256 emoji escape to
 * 3072 characters) is keyed `bot_web_~<sha256 of the id>` instead; `~` is always escaped in the
 * other form, so the two never meet, and the session records its id (`gw.session_id`).
 */
export function webSessionKey(sessionId: string): string {
  const key = sessionKey(WEB_PLATFORM, sessionId);
  if (key.length <= MAX_SESSION_ID_LENGTH) return key;
  return `${WEB_KEY_PREFIX}~${createHash('sha256').update(sessionId, 'utf8').digest('hex')}`;
}

export const isWebSessionKey = (key: string): boolean => key.startsWith(WEB_KEY_PREFIX);

const SHARED_BACKENDS = new Set(['redis', 'postgres']);

export type GatewayStoreKind = 'shared' | 'memory' | 'file';

export function gatewayStoreKind(config: BotsConfig): GatewayStoreKind {
  if (config.queue.backend === 'bullmq') return 'shared';
  if (!config.gateway.session.persist) return 'memory';
  if (SHARED_BACKENDS.has(config.store.backend)) return 'shared';
  return 'file';
}

/** The host's store with the web namespace routed to the gateway's own store where it has one. */
export function withGatewaySessions(config: BotsConfig, hostStore: SessionLog, logger: StoreLogger): SessionLog {
  const kind = gatewayStoreKind(config);
  const s = config.gateway.session;
  if (kind === 'shared') return hostStore;
  if (kind === 'file' && config.store.backend === 'file' && path.resolve(config.store.path) === path.resolve(s.persist_path)) return hostStore;
  const web = kind === 'memory' ? new MemorySessionStore({ maxMessages: s.max_messages }) : new FileSessionStore({ dir: s.persist_path, maxMessages: s.max_messages, logger });
  return routeWebSessions(hostStore, web);
}

/** One `SessionLog` over two: `bot_web_…` ids go to `web`, everything else to `other`. */
export function routeWebSessions(other: SessionLog, web: SessionLog): SessionLog {
  const pick = (id: string) => (typeof id === 'string' && isWebSessionKey(id) ? web : other);
  return {
    addMessage: (id: string, role: Role, content: string, metadata?: Metadata) => pick(id).addMessage(id, role, content, metadata),
    getChatHistory: (id: string, max?: number) => pick(id).getChatHistory(id, max),
    clearSession: (id: string) => pick(id).clearSession(id),
    deleteSession: (id: string) => pick(id).deleteSession(id),
    sessionExists: (id: string) => pick(id).sessionExists(id),
    commitTurn: (id: string, commit: TurnCommit) => pick(id).commitTurn(id, commit),
    findCommitted: (id: string, inboundId: string) => pick(id).findCommitted(id, inboundId),
    getEntries: (id: string, options?: EntriesOptions) => pick(id).getEntries(id, options),
    getSession: (id: string) => pick(id).getSession(id),
    updateMetadata: (id: string, patch: Metadata) => pick(id).updateMetadata(id, patch),
    updateMetadataIf: (id: string, expected: Metadata, patch: Metadata) => pick(id).updateMetadataIf(id, expected, patch),
    async listSessions(options: ListOptions = {}) {
      const [a, b] = await Promise.all([other.listSessions(options), web.listSessions(options)]);
      return [...a, ...b].sort((x, y) => y.updatedAt - x.updatedAt).slice(0, options.limit ?? 100);
    },
    // Adapter state lives with the host's sessions.
    ...(other.keyValue ? { keyValue: (namespace: string) => other.keyValue!(namespace) } : {}),
    async close() {
      await Promise.all([other.close(), web.close()]);
    },
  };
}
