/**
 * `bot doctor`'s checks of what the host runs on: Node, the session store (reachable and
 * writable), and Redis (reachable, `noeviction`, persistence) when the queue or the store uses it.
 * Every network call is bounded by `DOCTOR_DEFAULTS.timeoutMs`; nothing is written but a probe
 * key or file that is removed again.
 */
import { randomUUID } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Redis } from 'ioredis';
import type { BotsConfig } from '../../config/schema.js';
import { connectRedis, describeRedis, REDIS_DEFAULTS } from '../../redis/redis-connection.js';
import { fail, ok, warn, type CheckResult } from '../../ops/doctor-report.js';

export const DOCTOR_DEFAULTS = Object.freeze({ timeoutMs: 3_000, minNodeMajor: 20 });

export function checkNode(version: string = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  return major >= DOCTOR_DEFAULTS.minNodeMajor
    ? ok('node', `Node ${version}`)
    : fail('node', `Node ${version} is too old`, `install Node ${DOCTOR_DEFAULTS.minNodeMajor} or newer`);
}

/** The nearest existing directory at or above `dir`. */
async function nearestExisting(dir: string): Promise<string> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      await fsp.access(d);
      return d;
    } catch {
      if (path.dirname(d) === d) return d;
    }
  }
}

async function checkFileStore(dir: string): Promise<CheckResult> {
  const name = 'store (file)';
  const existing = await nearestExisting(dir);
  try {
    if (existing === path.resolve(dir)) {
      const probe = path.join(dir, `.doctor-${randomUUID()}`);
      await fsp.writeFile(probe, 'probe');
      await fsp.rm(probe);
      return ok(name, `${dir} is writable`);
    }
    await fsp.access(existing, constants.W_OK);
    return ok(name, `${dir} will be created (under ${existing}, which is writable)`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return fail(name, `${existing === path.resolve(dir) ? dir : existing} is not writable (${code})`, `give the user running bothost write access to it (chown/chmod), or set store.path to a writable directory`);
  }
}

/** A connected client or the reason it could not connect; never retries. */
export async function openRedisOnce(url: string): Promise<{ client: Redis } | { error: string }> {
  const client = connectRedis(url, { lazyConnect: true, retryStrategy: () => null, connectTimeout: DOCTOR_DEFAULTS.timeoutMs, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    await client.ping();
    return { client };
  } catch (err) {
    client.disconnect();
    return { error: (err as Error).message || 'connection refused' };
  }
}

async function checkPostgresStore(config: BotsConfig['store']): Promise<CheckResult> {
  const name = 'store (postgres)';
  const schema = config.schema ?? 'bothost';
  const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: DOCTOR_DEFAULTS.timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ exists: boolean; can_create: boolean; can_use: boolean | null }>(
      `select exists(select 1 from pg_namespace where nspname = $1) as exists,
              has_database_privilege(current_database(), 'CREATE') as can_create,
              case when exists(select 1 from pg_namespace where nspname = $1) then has_schema_privilege($1, 'CREATE') end as can_use`,
      [schema],
    );
    const r = rows[0]!;
    if (r.exists && r.can_use === false) return fail(name, `no CREATE privilege on schema "${schema}"`, `GRANT USAGE, CREATE ON SCHEMA ${schema} TO <bothost user>`);
    if (!r.exists && !r.can_create) return fail(name, `schema "${schema}" does not exist and the user may not create it`, `create it (CREATE SCHEMA ${schema}) or GRANT CREATE ON DATABASE to the bothost user`);
    return ok(name, r.exists ? `schema "${schema}" reachable and writable` : `reachable; schema "${schema}" will be created at start`);
  } catch (err) {
    return fail(name, `cannot connect: ${(err as Error).message}`, 'start Postgres or fix store.url (host, port, database, user, password)');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedisStore(config: BotsConfig['store']): Promise<CheckResult> {
  const name = 'store (redis)';
  const url = config.url ?? REDIS_DEFAULTS.url;
  const opened = await openRedisOnce(url);
  if ('error' in opened) return fail(name, `cannot reach Redis at ${describeRedis(url)}: ${opened.error}`, `start Redis there or fix store.url`);
  try {
    const key = `${config.prefix}:doctor:${randomUUID()}`;
    await opened.client.set(key, '1', 'PX', 10_000);
    await opened.client.del(key);
    return ok(name, `Redis at ${describeRedis(url)} answers and accepts writes`);
  } catch (err) {
    return fail(name, `Redis at ${describeRedis(url)} refused a write: ${(err as Error).message}`, 'check the Redis user\'s ACL, memory (maxmemory) and that it is not a read-only replica');
  } finally {
    opened.client.disconnect();
  }
}

export async function checkStore(config: BotsConfig['store']): Promise<CheckResult> {
  switch (config.backend) {
    case 'file':
      return checkFileStore(config.path);
    case 'memory':
      return warn('store (memory)', 'sessions live in memory only and are lost on restart', 'set store.backend to file, redis or postgres to keep them');
    case 'redis':
      return checkRedisStore(config);
    case 'postgres':
      return checkPostgresStore(config);
  }
}

/** The Redis URLs bothost will use (queue and/or store), each once. */
export function redisUrlsOf(config: BotsConfig, env: Record<string, string | undefined>): string[] {
  const urls = new Set<string>();
  if (config.queue.backend === 'bullmq') urls.add(config.queue.redis_url ?? env.REDIS_URL ?? REDIS_DEFAULTS.url);
  if (config.store.backend === 'redis') urls.add(config.store.url ?? REDIS_DEFAULTS.url);
  return [...urls];
}

/** Eviction policy (✗ unless `noeviction`) and persistence (⚠ when both AOF and RDB are off). */
export async function checkRedisSafety(url: string): Promise<CheckResult[]> {
  const where = describeRedis(url);
  const opened = await openRedisOnce(url);
  if ('error' in opened) return [fail('redis policy', `cannot connect to ${where}: ${opened.error}`, `start Redis at ${where}, or fix queue.redis_url / store.url / REDIS_URL`)];
  const { client } = opened;
  try {
    const results: CheckResult[] = [];
    const configValue = async (key: string): Promise<string | undefined> => {
      try {
        return ((await client.config('GET', key)) as string[])[1];
      } catch {
        return undefined; // managed Redis often forbids CONFIG
      }
    };
    const memory = await client.info('memory');
    const policy = (await configValue('maxmemory-policy')) ?? /maxmemory_policy:(\S+)/.exec(memory)?.[1] ?? 'unknown';
    results.push(
      policy === 'noeviction'
        ? ok('redis policy', `${where}: maxmemory-policy noeviction`)
        : fail('redis policy', `${where}: maxmemory-policy is ${policy}; Redis may evict queued turns and sessions`, 'set `maxmemory-policy noeviction` in redis.conf (and CONFIG SET maxmemory-policy noeviction for the running server)'),
    );
    const persistence = await client.info('persistence');
    const aof = /aof_enabled:(\d)/.exec(persistence)?.[1] === '1';
    const save = await configValue('save');
    const rdb = save === undefined ? undefined : save.trim() !== '';
    if (aof) results.push(ok('redis persistence', `${where}: AOF on`));
    else if (rdb) results.push(warn('redis persistence', `${where}: RDB snapshots only; turns accepted since the last snapshot are lost if Redis dies`, 'turn on AOF: `appendonly yes` in redis.conf'));
    else if (rdb === false) results.push(warn('redis persistence', `${where}: AOF and RDB are both off; a Redis restart loses every queued turn and session`, 'turn on AOF: `appendonly yes` in redis.conf'));
    else results.push(warn('redis persistence', `${where}: AOF is off and the snapshot setting cannot be read`, 'turn on AOF (`appendonly yes`) unless your provider persists the data'));
    return results;
  } finally {
    client.disconnect();
  }
}
