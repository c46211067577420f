/** The hierarchy contract over RedisSessionStore on a real Redis, each store under its own key prefix. */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { hierarchyContract } from '../contract/hierarchy.contract.js';
import { connectRedis, deleteByPrefix, uniquePrefix } from '../locks/redis-test-env.js';

let admin: Redis;
beforeAll(async () => {
  admin = await connectRedis();
});
afterAll(async () => {
  await admin?.quit();
});

hierarchyContract(
  'RedisSessionStore',
  async ({ maxMessages }) => {
    const prefix = uniquePrefix();
    const store = new RedisSessionStore({ client: admin, prefix, maxMessages });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deleteByPrefix(admin, prefix);
      },
    };
  },
  { sequences: 100 },
);
