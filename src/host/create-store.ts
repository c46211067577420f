/** Builds the configured session store. */
import type { Redis } from 'ioredis';
import { ConfigError, StoreError } from '../core/errors.js';
import type { SessionLog } from '../core/session-store.js';
import { FileSessionStore, type StoreLogger } from '../sessions/file-session-store.js';
import { MemorySessionStore } from '../sessions/memory-session-store.js';
import type { BotsConfig } from '../config/schema.js';

/** `redis` reuses `client` when given (the distributed queue's connection), else connects to store.url. */
export async function createStore(config: BotsConfig['store'], logger: StoreLogger, client?: Redis): Promise<SessionLog> {
  switch (config.backend) {
    case 'file':
      return new FileSessionStore({ dir: config.path, maxMessages: config.max_messages, logger });
    case 'memory':
      return new MemorySessionStore({ maxMessages: config.max_messages });
    case 'redis': {
      // Loaded on demand: the embedded default never loads a Redis client.
      const { RedisSessionStore } = await import('../sessions/redis-session-store.js');
      if (!client) await assertRedisReachable(config.url!);
      return new RedisSessionStore({
        ...(client ? { client } : { url: config.url! }),
        prefix: config.prefix,
        maxMessages: config.max_messages,
      });
    }
    case 'postgres': {
      // Loaded on demand: the embedded default never loads pg.
      const { PostgresSessionStore } = await import('../sessions/postgres-session-store.js');
      // bots.yaml requires store.url (`url: ${DATABASE_URL}` reads the usual variable).
      const store = new PostgresSessionStore({ url: config.url!, maxMessages: config.max_messages, ...(config.schema ? { schema: config.schema } : {}), ...(config.pool_size ? { poolSize: config.pool_size } : {}) });
      try {
        await store.open(); // unreachable or unmigratable: fail the command now, clearly
      } catch (error) {
        await store.close();
        throw error;
      }
      return store;
    }
    default:
      throw new ConfigError(
        `store.backend "${config.backend}" is not available in this build yet; use "file" (the default), "redis", "postgres" or "memory"`,
        'store.backend',
      );
  }
}

/**
 * One connection attempt, no retries: an unreachable store must fail the command with a clear
 * message at start-up, not print a ready line and then reconnect forever.
 */
async function assertRedisReachable(url: string): Promise<void> {
  const { connectRedis, describeRedis } = await import('../redis/redis-connection.js');
  const probe = connectRedis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5_000 });
  let socketError: Error | undefined; // e.g. ECONNREFUSED; connect() itself only says "Connection is closed."
  probe.on('error', (err: Error) => void (socketError ??= err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const reason = socketError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new StoreError(`cannot reach Redis at ${describeRedis(url)} for store.backend "redis" (${reason}); start Redis or fix store.url`);
  } finally {
    probe.disconnect();
  }
}
