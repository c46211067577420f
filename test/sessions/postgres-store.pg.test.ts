/**
 * PostgresSessionStore against a real Postgres: the shared contract, each store in its own
 * schema (dropped after).
 */
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { sessionStoreContract } from '../contract/session-store.contract.js';
import { DATABASE_URL, connectPostgres, dropSchema, uniqueSchema } from './pg-test-env.js';

let admin: pg.Pool;
beforeAll(async () => {
  admin = await connectPostgres();
});
afterAll(async () => {
  await admin?.end();
});

sessionStoreContract('PostgresSessionStore', async ({ maxMessages }) => {
  const schema = uniqueSchema();
  // A store that opens its own pool from a URL, so open() and close() are exercised too.
  const store = new PostgresSessionStore({ url: DATABASE_URL, schema, maxMessages, poolSize: 4 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropSchema(admin, schema);
    },
  };
});
