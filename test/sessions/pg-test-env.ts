/**
 * Shared by the Postgres tests: a real server at DATABASE_URL, one fresh schema per store,
 * dropped afterwards. An unreachable Postgres fails the run loudly; these tests never skip.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueSchema(): string {
  return `t_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** A pool that has answered a query, or an error that says how to fix the setup. */
export async function connectPostgres(max = 4): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new Error(`Postgres is not reachable at ${DATABASE_URL}: start it or set DATABASE_URL (a missing Postgres fails these tests by design)`, { cause });
  }
  return pool;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}
