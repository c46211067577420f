/**
 * The Redis backend: one hash per namespace (`<prefix>{<namespace>}`: one hash tag, so it works
 * on Redis Cluster), each field one key. `apply` is one MULTI/EXEC (HSET + HDEL): a kill -9 of
 * the writer leaves all of a `keys.set` or none of it.
 */
import type { Redis } from 'ioredis';
import type { AtomicKeyValue, KeyValueSource } from './key-value.js';

export class RedisKeyValue implements AtomicKeyValue {
  readonly describe: string;
  constructor(
    private readonly redis: Redis,
    readonly hashKey: string,
  ) {
    this.describe = `redis ${hashKey}`;
  }

  async get(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.redis.hmget(this.hashKey, ...keys);
  }

  async apply(changes: ReadonlyArray<readonly [string, string | null]>): Promise<void> {
    const last = new Map<string, string | null>();
    for (const [k, v] of changes) last.set(k, v);
    const sets: string[] = [];
    const dels: string[] = [];
    for (const [k, v] of last) v === null ? dels.push(k) : sets.push(k, v);
    const multi = this.redis.multi();
    if (sets.length > 0) multi.hset(this.hashKey, ...sets);
    if (dels.length > 0) multi.hdel(this.hashKey, ...dels);
    const results = await multi.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis MULTI was discarded');
  }

  keys(): Promise<string[]> {
    return this.redis.hkeys(this.hashKey);
  }

  async clear(): Promise<void> {
    await this.redis.del(this.hashKey);
  }
}

/** Namespaces as hashes under `prefix` (default `bothost:wa-auth:`). */
export function redisKeyValueSource(redis: Redis, prefix = 'bothost:wa-auth:'): KeyValueSource {
  return {
    describe: `redis ${prefix}*`,
    namespace: (name) => new RedisKeyValue(redis, `${prefix}{${name}}`),
  };
}
