import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { hierarchyContract } from '../contract/hierarchy.contract.js';
import { connectPostgres, dropSchema, uniqueSchema } from './pg-test-env.js';

let admin: pg.Pool;
beforeAll(async () => {
  admin = await connectPostgres();
});
afterAll(async () => {
  await admin?.end();
});

hierarchyContract(
  'PostgresSessionStore',
  async ({ maxMessages }) => {
    const schema = uniqueSchema();
    const store = new PostgresSessionStore({ pool: admin, schema, maxMessages });
    return { store, cleanup: async () => { await store.close(); await dropSchema(admin, schema); } };
  },
  { sequences: 60 },
);
