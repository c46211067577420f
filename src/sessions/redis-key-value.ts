/**
 * AtomicKeyValue on Redis: one hash per namespace (`<prefix>:kv:{<namespace>}`), so every write
 * of a namespace is one MULTI on one key (and one slot on Redis Cluster).
 */
import type { Redis } from 'ioredis';
import type { AtomicKeyValue } from '../core/key-value.js';
import { StoreError } from '../core/errors.js';
import { encodeSessionId } from '../core/session-id.js';

export function redisKeyValue(client: Redis, prefix: string, namespace: string): AtomicKeyValue {
  const hash = `${prefix}:kv:{${encodeSessionId(namespace)}}`;
  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      throw new StoreError(`Redis ${what} of key-value namespace "${namespace}" failed: ${(cause as Error).message}`, { cause });
    }
  };
  return {
    get: (keys) => (keys.length === 0 ? Promise.resolve([]) : run('HMGET', () => client.hmget(hash, ...keys))),
    async set(entries) {
      const puts = Object.entries(entries).filter((e): e is [string, string] => e[1] !== null);
      const dels = Object.entries(entries).filter(([, v]) => v === null).map(([k]) => k);
      if (puts.length === 0 && dels.length === 0) return;
      const tx = client.multi();
      if (puts.length > 0) tx.hset(hash, Object.fromEntries(puts));
      if (dels.length > 0) tx.hdel(hash, ...dels);
      const replies = await run('MULTI', () => tx.exec());
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) throw new StoreError(`Redis MULTI of key-value namespace "${namespace}" was not applied${failed ? `: ${failed[0]!.message}` : ''}`);
    },
    async keys(prefix = '') {
      const all = await run('HKEYS', () => client.hkeys(hash));
      return all.filter((k) => k.startsWith(prefix));
    },
    clear: () => run('DEL', () => client.del(hash)).then(() => undefined),
  };
}
