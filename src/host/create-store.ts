/** Builds the configured session store. */
import type { Redis } from 'ioredis';
import { ConfigError } from '../core/errors.js';
import type { SessionLog } from '../core/session-store.js';
import { FileSessionStore, type StoreLogger } from '../sessions/file-session-store.js';
import { MemorySessionStore } from '../sessions/memory-session-store.js';
import { RedisSessionStore } from '../sessions/redis-session-store.js';
import type { BotsConfig } from '../config/schema.js';

/** `redis` reuses `client` when given (the distributed queue's connection), else connects to store.url. */
export async function createStore(config: BotsConfig['store'], logger: StoreLogger, client?: Redis): Promise<SessionLog> {
  switch (config.backend) {
    case 'file':
      return new FileSessionStore({ dir: config.path, maxMessages: config.max_messages, logger });
    case 'memory':
      return new MemorySessionStore({ maxMessages: config.max_messages });
    case 'redis':
      return new RedisSessionStore({
        ...(client ? { client } : { url: config.url! }),
        prefix: config.prefix,
        maxMessages: config.max_messages,
      });
    default:
      throw new ConfigError(
        `store.backend "${config.backend}" is not available in this build yet; use "file" (the default), "redis" or "memory"`,
        'store.backend',
      );
  }
}
