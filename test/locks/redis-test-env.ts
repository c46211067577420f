/**
 * Shared by the Redis tests (sessions and locks): a real server, unique key prefixes, cleanup.
 * An unreachable Redis fails the test run loudly; these tests never skip.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connected client, or an error that says how to fix the setup. */
export async function connectRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 2, retryStrategy: () => null });
  client.on('error', () => {}); // reported through connect() below
  try {
    await client.connect();
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new Error(`Redis is not reachable at ${REDIS_URL}: start redis-server or set REDIS_URL (a missing Redis fails these tests by design)`, { cause });
  }
  return client;
}

export function uniquePrefix(): string {
  return `t-${randomUUID()}`;
}

/**
 * A checked client and a unique key prefix for one test file; after the file every key under
 * the prefix is deleted and the client closed.
 */
export function redisForFile(): { readonly admin: Redis; readonly prefix: string } {
  const prefix = uniquePrefix();
  let admin: Redis | undefined;
  beforeAll(async () => {
    admin = await connectRedis();
  });
  afterAll(async () => {
    if (!admin) return;
    await deleteByPrefix(admin, prefix);
    await admin.quit();
  });
  return {
    prefix,
    get admin() {
      if (!admin) throw new Error('the Redis client connects in beforeAll');
      return admin;
    },
  };
}

export async function keysByPrefix(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(keys)];
}

export async function deleteByPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await keysByPrefix(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
