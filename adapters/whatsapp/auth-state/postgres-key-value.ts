/**
 * The Postgres backend: one row per key in `whatsapp_auth_state (namespace, key, value)`. `apply`
 * is one transaction (upserts + deletes), so a kill -9 of the writer leaves all of a `keys.set`
 * or none of it. The table is created on first use.
 */
import type { Pool } from 'pg';
import type { AtomicKeyValue, KeyValueSource } from './key-value.js';

const ddl = (table: string) => `CREATE TABLE IF NOT EXISTS ${table} (
  namespace text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (namespace, key)
)`;

/** Two processes creating the table at once: one wins, the other sees these (the table exists). */
const ALREADY_CREATED = new Set(['23505', '42P07', '42P06']);

export class PostgresKeyValue implements AtomicKeyValue {
  readonly describe: string;
  private readonly table: string;
  private ready: Promise<void> | undefined;

  /** `schema`: where the table lives (default: the connection's search path). */
  constructor(
    private readonly pool: Pool,
    readonly namespace: string,
    private readonly schema?: string,
  ) {
    const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;
    this.table = schema ? `${quote(schema)}.whatsapp_auth_state` : 'whatsapp_auth_state';
    this.describe = `postgres ${schema ? `${schema}.` : ''}whatsapp_auth_state[${namespace}]`;
  }

  private prepare(): Promise<void> {
    const create = async () => {
      try {
        if (this.schema) await this.pool.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema.replace(/"/g, '""')}"`);
        await this.pool.query(ddl(this.table));
      } catch (err) {
        if (!ALREADY_CREATED.has((err as { code?: string }).code ?? '')) throw err;
      }
    };
    this.ready ??= create().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async get(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    await this.prepare();
    const { rows } = await this.pool.query<{ key: string; value: string }>(`SELECT key, value FROM ${this.table} WHERE namespace = $1 AND key = ANY($2::text[])`, [this.namespace, [...keys]]);
    const byKey = new Map(rows.map((r) => [r.key, r.value]));
    return keys.map((k) => byKey.get(k) ?? null);
  }

  async apply(changes: ReadonlyArray<readonly [string, string | null]>): Promise<void> {
    await this.prepare();
    const last = new Map<string, string | null>();
    for (const [k, v] of changes) last.set(k, v);
    const setKeys: string[] = [];
    const setValues: string[] = [];
    const dels: string[] = [];
    for (const [k, v] of last) {
      if (v === null) dels.push(k);
      else {
        setKeys.push(k);
        setValues.push(v);
      }
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (setKeys.length > 0) {
        await client.query(
          `INSERT INTO ${this.table} (namespace, key, value)
           SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v)
           ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value`,
          [this.namespace, setKeys, setValues],
        );
      }
      if (dels.length > 0) await client.query(`DELETE FROM ${this.table} WHERE namespace = $1 AND key = ANY($2::text[])`, [this.namespace, dels]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async keys(): Promise<string[]> {
    await this.prepare();
    const { rows } = await this.pool.query<{ key: string }>(`SELECT key FROM ${this.table} WHERE namespace = $1`, [this.namespace]);
    return rows.map((r) => r.key);
  }

  async clear(): Promise<void> {
    await this.prepare();
    await this.pool.query(`DELETE FROM ${this.table} WHERE namespace = $1`, [this.namespace]);
  }
}

export function postgresKeyValueSource(pool: Pool, schema?: string): KeyValueSource {
  return { describe: 'postgres whatsapp_auth_state', namespace: (name) => new PostgresKeyValue(pool, name, schema) };
}
