/** AtomicKeyValue on Postgres: rows of `<schema>.key_value`; a `set` is one transaction. */
import type { Pool } from 'pg';
import type { AtomicKeyValue } from '../core/key-value.js';
import { StoreError } from '../core/errors.js';

export function postgresKeyValue(pool: Pool, table: string, namespace: string, ready: () => Promise<void>): AtomicKeyValue {
  const fail = (what: string, cause: unknown) => new StoreError(`Postgres ${what} of key-value namespace "${namespace}" failed: ${(cause as Error).message}`, { cause });
  return {
    async get(keys) {
      if (keys.length === 0) return [];
      await ready();
      try {
        const { rows } = await pool.query<{ key: string; value: string }>(`SELECT key, value FROM ${table} WHERE namespace = $1 AND key = ANY($2)`, [namespace, keys]);
        const found = new Map(rows.map((r) => [r.key, r.value]));
        return keys.map((k) => found.get(k) ?? null);
      } catch (cause) {
        throw fail('read', cause);
      }
    },
    async set(entries) {
      const puts = Object.entries(entries).filter((e): e is [string, string] => e[1] !== null);
      const dels = Object.entries(entries).filter(([, v]) => v === null).map(([k]) => k);
      if (puts.length === 0 && dels.length === 0) return;
      await ready();
      const client = await pool.connect().catch((cause: unknown) => {
        throw fail('connect', cause);
      });
      try {
        await client.query('BEGIN');
        if (puts.length > 0) {
          await client.query(
            `INSERT INTO ${table} (namespace, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v)
             ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value`,
            [namespace, puts.map(([k]) => k), puts.map(([, v]) => v)],
          );
        }
        if (dels.length > 0) await client.query(`DELETE FROM ${table} WHERE namespace = $1 AND key = ANY($2)`, [namespace, dels]);
        await client.query('COMMIT');
      } catch (cause) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw fail('write', cause);
      } finally {
        client.release();
      }
    },
    async keys(prefix = '') {
      await ready();
      try {
        const { rows } = await pool.query<{ key: string }>(`SELECT key FROM ${table} WHERE namespace = $1 AND starts_with(key, $2) ORDER BY key`, [namespace, prefix]);
        return rows.map((r) => r.key);
      } catch (cause) {
        throw fail('list', cause);
      }
    },
    async clear() {
      await ready();
      try {
        await pool.query(`DELETE FROM ${table} WHERE namespace = $1`, [namespace]);
      } catch (cause) {
        throw fail('clear', cause);
      }
    },
  };
}
