/**
 * Where adapters get leadership leases: the Redis bots.yaml configures (queue.redis_url, which a
 * redis store also sets) — `configured: true`, used by `leader: auto` — or else REDIS_URL from
 * the environment (used only by `leader: redis`). The connection opens on first use, so a
 * process that never needs leadership never connects.
 */
import type { Redis } from 'ioredis';
import type { Leadership, LeadershipSource } from '../core/adapter.js';
import type { BotsConfig } from '../config/schema.js';
import type { Logger } from './logger.js';

export interface ClosableLeadershipSource extends LeadershipSource {
  close(): void;
}

export function leadershipSourceOf(config: BotsConfig, env: Record<string, string | undefined>, logger: Logger): ClosableLeadershipSource | undefined {
  const url = config.queue.redis_url ?? (env.REDIS_URL?.trim() || undefined);
  if (!url) return undefined;
  let client: Redis | undefined;
  // Host and port only: a URL may carry a password.
  let describe: string = 'redis lease';
  try {
    const u = new URL(url);
    describe = `redis lease at ${u.hostname}:${u.port || 6379}`;
  } catch {
    // connectRedis reports an unusable URL when the lease is first used.
  }
  const clients: Redis[] = [];
  return {
    configured: config.queue.redis_url !== undefined,
    describe,
    open(options = {}): Leadership {
      // Loaded lazily: an embedded process without leadership never loads ioredis.
      const pending = (async () => {
        const { connectRedis } = await import('../redis/redis-connection.js');
        const { createRedisLeadership } = await import('../locks/leadership.js');
        client ??= connectRedis(url);
        clients.push(client);
        return createRedisLeadership({
          client,
          prefix: config.store.prefix,
          describe,
          ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
          onError: (err) => logger.warn({ err: (err as Error).message }, 'leadership: Redis unavailable; retrying'),
        });
      })();
      return {
        describe,
        acquire: async (name, signal) => (await pending).acquire(name, signal),
      };
    },
    close() {
      for (const c of clients) c.disconnect();
    },
  };
}
