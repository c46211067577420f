/**
 * Schema migrations of the Postgres session store: `sql/NNN-name.sql` files, applied in order,
 * each once per schema, recorded in `<schema>.schema_migrations`.
 *
 * Safe when several processes open the store at once (N workers starting together): the whole
 * run holds a transaction-scoped advisory lock keyed by the schema name, so one process applies
 * the missing migrations while the others wait and then find nothing left to do. Each file runs
 * in that same transaction as its bookkeeping row, so a failed migration leaves no half schema.
 */
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { ConfigError, StoreError } from '../core/errors.js';

/** In order; a new migration is a new file appended here, never an edit of an applied one. */
const MIGRATIONS = ['001-initial.sql', '002-import-session.sql', '003-key-value.sql', '004-retention-holds.sql'] as const;

export const DEFAULT_PG_SCHEMA = 'bothost';

/** An SQL identifier, quoted (as pg's escapeIdentifier: double quotes doubled). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Lowercase identifiers only, so the schema name needs no case games in hand-written SQL. */
export function assertSchemaName(schema: string): void {
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(
      `Postgres schema ${JSON.stringify(schema)} must be 1–63 lowercase letters, digits or "_", not starting with a digit`,
      'store.schema',
    );
  }
}

function migrationSql(file: string, quotedSchema: string): string {
  let sql: string;
  try {
    sql = readFileSync(new URL(`./sql/${file}`, import.meta.url), 'utf8');
  } catch (cause) {
    throw new StoreError(`cannot read migration ${file}: run "npm run build" (it copies .sql files to dist/)`, { cause });
  }
  return sql.replaceAll('__SCHEMA__', quotedSchema);
}

/** Creates the schema if needed and applies every missing migration. Returns those applied. */
export async function migrate(pool: Pool, schema: string): Promise<string[]> {
  assertSchemaName(schema);
  const q = quoteIdentifier(schema);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('BEGIN');
    // hashtext is stable across sessions; the second key separates us from other advisory users.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1), 7411)`, [`bothost-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ name: string }>(`SELECT name FROM ${q}.schema_migrations`)).rows.map((r) => r.name));
    for (const file of MIGRATIONS) {
      if (done.has(file)) continue;
      await client.query(migrationSql(file, q));
      await client.query(`INSERT INTO ${q}.schema_migrations (name) VALUES ($1)`, [file]);
      applied.push(file);
    }
    const unknown = [...done].filter((name) => !(MIGRATIONS as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new StoreError(
        `Postgres schema "${schema}" has migrations this version does not know (${unknown.join(', ')}): it was created by a newer bothost; upgrade this process`,
      );
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
