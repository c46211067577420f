/**
 * PostgresSessionStore: sessions in PostgreSQL, shared by every worker process ("PostgreSQL for
 * production", seed 001). The schema is created and migrated on open (postgres-migrations.ts);
 * every write of a session is one SQL function call (sql/001-initial.sql) that locks the
 * session's row, so a commit is one transaction and one round trip: fence check, inbound-id
 * dedupe (backed by a unique constraint), append, trim, cursor advance.
 *
 * Cursors are allocated under that row lock, so they become visible in order: a reader polling
 * `cursor > since` never skips an entry (see the comment on commit_turn for why a sequence
 * would). `maxMessages` bounds what is kept, not only what is served.
 *
 * @example
 *   const store = new PostgresSessionStore({ url: process.env.DATABASE_URL, maxMessages: 500 });
 *   await store.commitTurn('bot_telegram_42', { inboundId: 'tg:7', fence, entries });
 *   await store.close();
 */
import { lazyRequire } from '../core/lazy-require.js';
import type { Pool, PoolClient } from 'pg';
import { BotHostError, ConfigError, StoreError } from '../core/errors.js';
import type {
  ChatMessage,
  CommitResult,
  EntriesOptions,
  ListOptions,
  Metadata,
  Role,
  SessionEntry,
  SessionInfo,
  SessionLog,
  TurnCommit,
} from '../core/session-store.js';
import { RECENT_INBOUND_IDS } from './file-log-reader.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import type { AtomicKeyValue } from '../core/key-value.js';
import { postgresKeyValue } from './postgres-key-value.js';
import { DEFAULT_PG_SCHEMA, assertSchemaName, migrate, quoteIdentifier } from './postgres-migrations.js';
import { toEntry, toInfo, toJson, wrap, type EntryRow, type SessionRow } from './postgres-rows.js';
import { metadataMatches } from './metadata-expectation.js';
import { assertSessionId } from '../core/session-id.js';
import type { SessionImage, SessionImageExtras, SessionImporter } from './session-image.js';
import { validateCommit } from './validate.js';

export interface PostgresSessionStoreOptions {
  /** Used when no `pool` is given; default `DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`. */
  url?: string;
  /** A pool to share; the store never ends a pool it did not create. */
  pool?: Pool;
  /** Schema holding the tables, created if missing; default `bothost`. */
  schema?: string;
  /** Messages kept (and served) per session, default 1000. */
  maxMessages?: number;
  /** Connections of the pool the store creates; default 10. */
  poolSize?: number;
}

export const POSTGRES_STORE_DEFAULTS = Object.freeze({
  url: 'postgres://postgres@127.0.0.1:5432/postgres',
  schema: DEFAULT_PG_SCHEMA,
  maxMessages: 1000,
  poolSize: 10,
  /** A server that does not answer a connect (firewall, black hole) fails the call, not hangs it. */
  connectTimeoutMs: 10_000,
});

/** What the SQL functions' codes mean (see the header of each in sql/001-initial.sql). */
const SQL_CODE = { OK: 0, DUPLICATE: -1, STALE_FENCE: -2, MISSING: -3, EXISTS: -5 } as const;

const ID = (sessionId: string) => Buffer.from(sessionId, 'utf8');

const pgModule = lazyRequire<typeof import('pg')>('pg');

export class PostgresSessionStore implements SessionLog, SessionImporter, SessionImageExtras {
  readonly schema: string;
  readonly maxMessages: number;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly t: { sessions: string; entries: string; ids: string; fn: (name: string) => string };
  /**
   * Writes of one session from this process go out one at a time, in call order (I3): the row
   * lock serializes them in Postgres, but pooled connections would race to it in any order.
   */
  private readonly writes = new KeyedMutex();
  private opening: Promise<void> | undefined;
  private closed = false;

  constructor(options: PostgresSessionStoreOptions = {}) {
    this.schema = options.schema ?? POSTGRES_STORE_DEFAULTS.schema;
    assertSchemaName(this.schema);
    this.maxMessages = options.maxMessages ?? POSTGRES_STORE_DEFAULTS.maxMessages;
    if (!Number.isSafeInteger(this.maxMessages) || this.maxMessages < 1) {
      throw new ConfigError(`maxMessages must be a positive integer; got ${String(options.maxMessages)}`, 'store.max_messages');
    }
    this.ownsPool = options.pool === undefined;
    this.pool =
      options.pool ??
      new (pgModule().Pool)({
        connectionString: options.url ?? process.env.DATABASE_URL ?? POSTGRES_STORE_DEFAULTS.url,
        max: options.poolSize ?? POSTGRES_STORE_DEFAULTS.poolSize,
        connectionTimeoutMillis: POSTGRES_STORE_DEFAULTS.connectTimeoutMs,
      });
    // An idle client's connection dropping (server restart) must not crash the process; the
    // next query fails with a StoreError and the pool reconnects.
    if (this.ownsPool) this.pool.on('error', () => undefined);
    const q = quoteIdentifier(this.schema);
    this.t = { sessions: `${q}.sessions`, entries: `${q}.entries`, ids: `${q}.inbound_ids`, fn: (name) => `${q}.${name}` };
  }

  /** A namespace of atomic key-value state kept in this database (adapter state). */
  keyValue(namespace: string): AtomicKeyValue {
    return postgresKeyValue(this.pool, this.t.fn('key_value'), namespace, () => this.open());
  }

  /** Connects and creates/migrates the schema. Every method calls it; call it to fail fast. */
  open(): Promise<void> {
    this.opening ??= migrate(this.pool, this.schema).then(
      () => undefined,
      (cause) => {
        this.opening = undefined; // a later call may retry once Postgres is back
        throw wrap('migrate', cause);
      },
    );
    return this.opening;
  }

  async addMessage(sessionId: string, role: Role, content: string, metadata?: Metadata): Promise<boolean> {
    const res = await this.commitTurn(sessionId, { entries: [{ role, content, ...(metadata ? { metadata } : {}) }] });
    return res.status === 'committed';
  }

  async getChatHistory(sessionId: string, maxMessages?: number): Promise<ChatMessage[]> {
    assertSessionId(sessionId);
    const n = Math.floor(Math.min(maxMessages ?? Infinity, this.maxMessages));
    if (!(n >= 1)) return [];
    const rows = await this.query<Pick<EntryRow, 'role' | 'content'>>(
      'getChatHistory',
      `SELECT role, content FROM (
         SELECT e.cursor, e.role, e.content FROM ${this.t.entries} e
         WHERE e.sid = ${this.sidOf('$1')} AND e.cursor >= ${this.keptFromOf('$1')} ORDER BY e.cursor DESC LIMIT $2) last ORDER BY cursor`,
      [ID(sessionId), n],
    );
    return rows.map((r) => ({ role: r.role, content: r.content.toString('utf8') }));
  }

  async clearSession(sessionId: string): Promise<boolean> {
    assertSessionId(sessionId);
    const [row] = await this.write(sessionId, 'clearSession', `SELECT ${this.t.fn('clear_session')}($1) AS code`, [ID(sessionId)]);
    return row!.code === SQL_CODE.OK;
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    assertSessionId(sessionId);
    const [row] = await this.write(sessionId, 'deleteSession', `SELECT ${this.t.fn('delete_session')}($1) AS code`, [ID(sessionId)]);
    return row!.code === SQL_CODE.OK;
  }

  async sessionExists(sessionId: string): Promise<boolean> {
    assertSessionId(sessionId);
    const rows = await this.query('sessionExists', `SELECT 1 FROM ${this.t.sessions} WHERE id = $1 AND created_at IS NOT NULL`, [ID(sessionId)]);
    return rows.length === 1;
  }

  async commitTurn(sessionId: string, commit: TurnCommit): Promise<CommitResult> {
    validateCommit(commit);
    assertSessionId(sessionId);
    const metadata = commit.entries.map((e) => (e.metadata ? toJson(e.metadata, 'message metadata', 'INVALID_COMMIT') : null));
    const [row] = await this.write<{ code: number; value: string }>(
      sessionId,
      'commitTurn',
      `SELECT code, value FROM ${this.t.fn('commit_turn')}($1, $2, $3, $4, $5, $6, $7::text[], $8::bytea[], $9::json[])`,
      [
        ID(sessionId),
        Date.now(),
        this.maxMessages,
        RECENT_INBOUND_IDS,
        commit.inboundId === undefined ? null : ID(commit.inboundId),
        commit.fence ?? null,
        commit.entries.map((e) => e.role),
        commit.entries.map((e) => Buffer.from(e.content, 'utf8')),
        metadata,
      ],
    );
    const value = Number(row!.value);
    switch (row!.code) {
      case SQL_CODE.OK:
        return { status: 'committed', cursors: commit.entries.map((_, i) => value + i) };
      case SQL_CODE.DUPLICATE:
        return { status: 'duplicate', cursor: value };
      case SQL_CODE.STALE_FENCE:
        return { status: 'stale_fence', highestFence: value };
      default:
        throw new StoreError(`commitTurn: unexpected code ${row!.code} from Postgres; is another program using schema "${this.schema}"?`);
    }
  }

  /**
   * Record a fence issued by a lease held elsewhere (the worker's Redis lease), so a worker
   * that lost its lease is rejected even before the new holder's first commit. Never lowers it.
   */
  async recordFence(sessionId: string, fence: number): Promise<void> {
    assertSessionId(sessionId);
    if (!Number.isSafeInteger(fence) || fence < 0) throw new BotHostError('INVALID_COMMIT', 'fence must be a non-negative integer');
    await this.query('recordFence', `SELECT ${this.t.fn('record_fence')}($1, $2)`, [ID(sessionId), fence]);
  }

  async findCommitted(sessionId: string, inboundId: string): Promise<number | null> {
    assertSessionId(sessionId);
    const rows = await this.query<{ first_cursor: string }>(
      'findCommitted',
      `SELECT i.first_cursor FROM ${this.t.ids} i WHERE i.sid = ${this.sidOf('$1')} AND i.inbound_id = $2`,
      [ID(sessionId), ID(String(inboundId))],
    );
    return rows.length === 0 ? null : Number(rows[0]!.first_cursor);
  }

  async getEntries(sessionId: string, options: EntriesOptions = {}): Promise<SessionEntry[]> {
    assertSessionId(sessionId);
    const after = Math.floor(options.after ?? 0);
    const limit = options.limit === undefined ? Infinity : Math.floor(options.limit);
    // Same answers as filtering by `cursor > after` and slicing to `limit`, for any number.
    if (Number.isNaN(after) || after === Infinity || Number.isNaN(limit) || limit <= 0) return [];
    const rows = await this.query<EntryRow>(
      'getEntries',
      `SELECT e.cursor, e.ts, e.role, e.content, e.metadata::text AS metadata FROM ${this.t.entries} e
       WHERE e.sid = ${this.sidOf('$1')} AND e.cursor > $2${options.includeHeld ? '' : ` AND e.cursor >= ${this.keptFromOf('$1')}`} ORDER BY e.cursor LIMIT $3`,
      [ID(sessionId), Math.max(after, 0), limit === Infinity ? null : limit],
    );
    return rows.map(toEntry);
  }

  async getSession(sessionId: string): Promise<SessionInfo | null> {
    assertSessionId(sessionId);
    const rows = await this.query<SessionRow>(
      'getSession',
      `SELECT id, created_at, updated_at, last_cursor, kept_from, metadata::text AS metadata,
         (SELECT count(*) FROM ${this.t.entries} e WHERE e.sid = s.sid AND e.cursor < s.kept_from) AS held
       FROM ${this.t.sessions} s WHERE id = $1 AND created_at IS NOT NULL`,
      [ID(sessionId)],
    );
    return rows.length === 0 ? null : toInfo(rows[0]!);
  }

  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    const limit = Math.floor(options.limit ?? 100);
    if (!(limit >= 1)) return [];
    const rows = await this.query<SessionRow>(
      'listSessions',
      `SELECT id, created_at, updated_at, last_cursor, kept_from, metadata::text AS metadata FROM ${this.t.sessions}
       WHERE created_at IS NOT NULL ORDER BY updated_at DESC, sid DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toInfo);
  }

  /** Merged in one transaction under the session's row lock (json cannot be merged in SQL: see the migration). */
  async updateMetadata(sessionId: string, patch: Metadata): Promise<void> {
    await this.updateMetadataIf(sessionId, {}, patch);
  }

  async updateMetadataIf(sessionId: string, expected: Metadata, patch: Metadata): Promise<boolean> {
    assertSessionId(sessionId);
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new BotHostError('INVALID_METADATA', 'a metadata patch must be a plain object');
    }
    const changes = Object.entries(patch).map(([key, value]) => [key, value === null ? null : toJson(value, `metadata key ${JSON.stringify(key)}`, 'INVALID_METADATA')] as const);
    return this.writes.run(sessionId, () => this.transaction('updateMetadata', async (client) => {
      const { rows } = await client.query<{ metadata: string; created_at: string | null }>(
        `SELECT metadata::text AS metadata, created_at FROM ${this.t.fn('lock_session')}($1)`,
        [ID(sessionId)],
      );
      const current = rows[0]!.created_at === null ? {} : (JSON.parse(rows[0]!.metadata) as Metadata);
      if (!metadataMatches(current, expected)) return false;
      for (const [key, json] of changes) {
        if (json === null) delete current[key];
        else if (json !== undefined) current[key] = JSON.parse(json);
      }
      const ts = Date.now();
      await client.query(
        `UPDATE ${this.t.sessions} SET metadata = $2::json, created_at = COALESCE(created_at, $3), updated_at = $3 WHERE id = $1`,
        [ID(sessionId), JSON.stringify(current), ts],
      );
      return true;
    }));
  }

  /** Write a whole session with its own cursors (migration); `exists` changes nothing. */
  async importImage(image: SessionImage): Promise<'imported' | 'exists'> {
    assertSessionId(image.id);
    const e = image.entries.slice(-this.maxMessages);
    const [row] = await this.write(image.id, 'importSession', `SELECT ${this.t.fn('import_session')}($1, $2, $3, $4, $5, $6::json, $7::bigint[], $8::bigint[], $9::text[], $10::bytea[], $11::json[], $12::bytea[], $13::bigint[]) AS code`, [
      ID(image.id),
      image.createdAt,
      image.updatedAt,
      image.lastCursor,
      image.fence,
      JSON.stringify(image.metadata),
      e.map((x) => x.cursor),
      e.map((x) => x.ts),
      e.map((x) => x.role),
      e.map((x) => Buffer.from(x.content, 'utf8')),
      e.map((x) => (x.metadata ? JSON.stringify(x.metadata) : null)),
      image.inboundIds.map(([id]) => ID(id)),
      image.inboundIds.map(([, cursor]) => cursor),
    ]);
    return row!.code === SQL_CODE.OK ? 'imported' : 'exists';
  }

  /** The inbound ids this session remembers, oldest first, with the first cursor each got. */
  async inboundIds(sessionId: string): Promise<Array<[string, number]>> {
    assertSessionId(sessionId);
    const rows = await this.query<{ inbound_id: Buffer; first_cursor: string }>(
      'inboundIds',
      `SELECT i.inbound_id, i.first_cursor FROM ${this.t.ids} i WHERE i.sid = ${this.sidOf('$1')} ORDER BY i.first_cursor`,
      [ID(sessionId)],
    );
    return rows.map((r) => [r.inbound_id.toString('utf8'), Number(r.first_cursor)]);
  }

  /** The highest fence committed or recorded for this session (0 when none). */
  async fence(sessionId: string): Promise<number> {
    assertSessionId(sessionId);
    const rows = await this.query<{ fence: string }>('fence', `SELECT fence FROM ${this.t.sessions} WHERE id = $1`, [ID(sessionId)]);
    return rows.length === 0 ? 0 : Number(rows[0]!.fence);
  }

  /** Ends the pool only if this store created it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  /**
   * The session's row id as a scalar subquery: the planner then walks the (sid, cursor) index
   * directly (a join would sort all of a session's entries to serve the last 20).
   */
  private sidOf(param: string): string {
    return `(SELECT sid FROM ${this.t.sessions} WHERE id = ${param})`;
  }

  /** The first served cursor: entries below it are kept only for retention holds. */
  private keptFromOf(param: string): string {
    return `(SELECT kept_from FROM ${this.t.sessions} WHERE id = ${param})`;
  }

  private write<R extends object = { code: number }>(sessionId: string, what: string, sql: string, params: unknown[]): Promise<R[]> {
    return this.writes.run(sessionId, () => this.query<R>(what, sql, params));
  }

  private async query<R extends object>(what: string, sql: string, params: unknown[]): Promise<R[]> {
    this.assertOpen();
    await this.open();
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (cause) {
      throw wrap(what, cause);
    }
  }

  private async transaction<T>(what: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    await this.open();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw wrap(what, cause);
    }
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw wrap(what, cause);
    } finally {
      client.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('this Postgres session store is closed; create a new one to keep using it');
  }
}
