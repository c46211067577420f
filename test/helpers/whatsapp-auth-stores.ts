/** The auth-state backends as the crash tests open them (in the test and in its bot child). */
import { Redis } from 'ioredis';
import { FileKeyValue } from '../../adapters/whatsapp/auth-state/file-key-value.js';
import type { AtomicKeyValue } from '../../src/core/key-value.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { redisKeyValue } from '../../src/sessions/redis-key-value.js';

export interface ChildArgs {
  backend: 'file' | 'redis' | 'postgres';
  dir?: string;
  redisUrl?: string;
  hashKey?: string;
  pgUrl?: string;
  schema?: string;
  namespace?: string;
  /** The peer's JID, and its message to decrypt. */
  jid: string;
  type: 'pkmsg' | 'msg';
  ciphertext: string;
  /** The key the peer's session lives under (rewritten in every storm batch). */
  sessionId: string;
}

/** The storm's key types (every signal key type baileys stores). */
export const STORM_TYPES = ['pre-key', 'session', 'sender-key', 'sender-key-memory', 'app-state-sync-key', 'app-state-sync-version', 'lid-mapping', 'device-list', 'tctoken', 'identity-key'] as const;
export const STORM_KEYS_PER_TYPE = 3;

export function openStore(a: Pick<ChildArgs, 'backend' | 'dir' | 'redisUrl' | 'hashKey' | 'pgUrl' | 'schema' | 'namespace'>): { store: AtomicKeyValue; close(): Promise<void> } {
  if (a.backend === 'file') return { store: new FileKeyValue(a.dir!), close: async () => undefined };
  if (a.backend === 'redis') {
    const redis = new Redis(a.redisUrl!, { maxRetriesPerRequest: 1 });
    // The Redis store's own key-value state: `hashKey` is the prefix, one hash per namespace.
    return { store: redisKeyValue(redis, a.hashKey!, 'whatsapp-auth'), close: async () => void redis.disconnect() };
  }
  const store = new PostgresSessionStore({ url: a.pgUrl!, schema: a.schema!, poolSize: 2 });
  return { store: store.keyValue(a.namespace!), close: () => store.close() };
}
