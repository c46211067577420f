/**
 * RedisSessionStore: sessions in Redis, shared by every worker process. Every write is one Lua
 * script on the session's own keys (one hash slot, see redis-keys.ts), so commits are atomic,
 * fenced and idempotent across processes; appends are RPUSH + LTRIM, reads cost what they return.
 *
 * Where the contract ends: the `<prefix>:sessions` index (listSessions) is a cross-slot key, so
 * it is written beside the scripts (same round trip), not inside them. A session deleted while
 * another process writes it may be listed (skipped on read) or missing from the list until its
 * next write; history, cursors, dedupe and fencing are never affected.
 *
 * @example
 *   const store = new RedisSessionStore({ url: process.env.REDIS_URL, maxMessages: 500 });
 *   await store.commitTurn('bot_telegram_42', { inboundId: 'tg:7', fence, entries });
 *   await store.close();
 */
import type { Redis } from 'ioredis';
import { lazyRequire } from '../core/lazy-require.js';
import { BotHostError, ConfigError, StoreError } from '../core/errors.js';
import type {
  ChatMessage,
  CommitResult,
  EntriesOptions,
  ListOptions,
  Metadata,
  NewEntry,
  Role,
  SessionEntry,
  SessionInfo,
  RedisCommitAccess,
  SessionLog,
  TurnCommit,
} from '../core/session-store.js';
import { RECENT_INBOUND_IDS } from './file-log-reader.js';
import { DEFAULT_PREFIX, assertPrefix, sessionIndexKey, sessionKeys } from '../redis/redis-keys.js';
import { interpretReply } from './redis-script-codes.js';
import { luaScript } from '../redis/lua-script.js';
import { validateCommit } from './validate.js';
import { redisKeyValue } from './redis-key-value.js';
import type { AtomicKeyValue } from '../core/key-value.js';

export interface RedisSessionStoreOptions {
  /** Used when no `client` is given; default `redis://127.0.0.1:6379`. */
  url?: string;
  /** A connection to share; the store never closes a client it did not create. */
  client?: Redis;
  /** Key prefix, default `bothost`. A SessionLease issuing fences for this store must use the same. */
  prefix?: string;
  /** Messages kept (and served) per session, default 1000. */
  maxMessages?: number;
}

const SCRIPTS = {
  commitTurn: luaScript('commitTurn-4.lua', import.meta.url),
  getEntries: luaScript('getEntries-3.lua', import.meta.url),
  getSession: luaScript('getSession-3.lua', import.meta.url),
  clearSession: luaScript('clearSession-3.lua', import.meta.url),
  deleteSession: luaScript('deleteSession-4.lua', import.meta.url),
  updateMetadata: luaScript('updateMetadata-1.lua', import.meta.url),
} as const;

/** Metadata keys live as `md:<key>` fields of the meta hash, beside the store's own fields. */
const MD = 'md:';
/** The meta hash field that holds a metadata key (offered to other scripts as `redisCommit`). */
const redisMetadataField = (key: string) => `${MD}${key}`;

/** The stored form of an entry: short keys, because every byte is kept maxMessages times. */
interface StoredEntry {
  c: number;
  ts: number;
  r: Role;
  m: string;
  md?: Metadata;
}

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

export class RedisSessionStore implements SessionLog {
  readonly prefix: string;
  readonly redisCommit: RedisCommitAccess;
  readonly maxMessages: number;
  private readonly connection: Redis;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: RedisSessionStoreOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    assertPrefix(this.prefix);
    this.redisCommit = Object.freeze({ prefix: this.prefix, metadataField: redisMetadataField, historyFromLog });
    this.maxMessages = options.maxMessages ?? 1000;
    if (!Number.isSafeInteger(this.maxMessages) || this.maxMessages < 1) {
      throw new ConfigError(`maxMessages must be a positive integer; got ${String(options.maxMessages)}`, 'store.max_messages');
    }
    this.ownsClient = options.client === undefined;
    this.connection = options.client ?? new (ioredis().Redis)(options.url ?? 'redis://127.0.0.1:6379');
    // Outages surface as StoreError from each call; the client reconnects by itself, so its
    // background error events must not print "Unhandled error event" for every retry.
    if (this.ownsClient) this.connection.on('error', () => undefined);
  }

  /** A namespace of atomic key-value state kept in this Redis (adapter state). */
  keyValue(namespace: string): AtomicKeyValue {
    return redisKeyValue(this.client, this.prefix, namespace);
  }

  async addMessage(sessionId: string, role: Role, content: string, metadata?: Metadata): Promise<boolean> {
    const res = await this.commitTurn(sessionId, { entries: [{ role, content, ...(metadata ? { metadata } : {}) }] });
    return res.status === 'committed';
  }

  async getChatHistory(sessionId: string, maxMessages?: number): Promise<ChatMessage[]> {
    const { log } = sessionKeys(this.prefix, sessionId);
    const n = Math.floor(Math.min(maxMessages ?? Infinity, this.maxMessages));
    if (!(n >= 1)) return [];
    return historyFromLog(await this.call('LRANGE', () => this.client.lrange(log, -n, -1)));
  }

  async clearSession(sessionId: string): Promise<boolean> {
    const k = sessionKeys(this.prefix, sessionId);
    const reply = await SCRIPTS.clearSession.run(this.client, [k.meta, k.log, k.held], [sessionId]);
    return interpretReply('clearSession', sessionId, reply).outcome === 'ok';
  }

  async deleteSession(sessionId: string): Promise<boolean> {
    const k = sessionKeys(this.prefix, sessionId);
    const [reply] = await Promise.all([
      SCRIPTS.deleteSession.run(this.client, [k.meta, k.log, k.ids, k.held], [sessionId]),
      this.call('ZREM', () => this.client.zrem(sessionIndexKey(this.prefix), sessionId)),
    ]);
    return interpretReply('deleteSession', sessionId, reply).outcome === 'ok';
  }

  async sessionExists(sessionId: string): Promise<boolean> {
    const { meta } = sessionKeys(this.prefix, sessionId);
    return (await this.call('HEXISTS', () => this.client.hexists(meta, 'created'))) === 1;
  }

  async commitTurn(sessionId: string, commit: TurnCommit): Promise<CommitResult> {
    validateCommit(commit);
    const k = sessionKeys(this.prefix, sessionId);
    const bodies = commit.entries.map(entryBody);
    const ts = Date.now();
    const args = [sessionId, ts, this.maxMessages, RECENT_INBOUND_IDS, commit.inboundId ?? '', commit.fence === undefined ? '' : String(commit.fence)];
    // The index ZADD goes out with the script, not after it (one round trip). It may thus also
    // count a duplicate or stale attempt as activity; listSessions reads the real `updated`.
    const [reply] = await Promise.all([SCRIPTS.commitTurn.run(this.client, [k.meta, k.log, k.ids, k.held], [...args, ...bodies]), this.touch(sessionId, ts)]);
    const { outcome, rest } = interpretReply('commitTurn', sessionId, reply);
    const value = Number(rest[0]);
    switch (outcome) {
      case 'ok':
        return { status: 'committed', cursors: bodies.map((_, i) => value + i) };
      case 'duplicate':
        return { status: 'duplicate', cursor: value };
      case 'stale_fence':
        return { status: 'stale_fence', highestFence: value };
      default:
        throw new StoreError(`commitTurn: unexpected outcome ${outcome} for session ${JSON.stringify(sessionId.slice(0, 80))}`);
    }
  }

  async findCommitted(sessionId: string, inboundId: string): Promise<number | null> {
    const { ids } = sessionKeys(this.prefix, sessionId);
    const score = await this.call('ZSCORE', () => this.client.zscore(ids, inboundId));
    return score === null ? null : Number(score);
  }

  async getEntries(sessionId: string, options: EntriesOptions = {}): Promise<SessionEntry[]> {
    const k = sessionKeys(this.prefix, sessionId);
    const after = Math.floor(options.after ?? 0);
    const limit = options.limit === undefined ? -1 : Math.floor(options.limit);
    // Same answers as filtering by `cursor > after` and slicing to `limit`, for any number.
    if (Number.isNaN(after) || after === Infinity || Number.isNaN(limit) || (options.limit !== undefined && limit <= 0)) return [];
    const from = Math.max(0, after);
    const reply = await SCRIPTS.getEntries.run(this.client, [k.meta, k.log, k.held], [sessionId, from, limit === Infinity ? -1 : limit, options.includeHeld ? '1' : '0']);
    const { rest } = interpretReply('getEntries', sessionId, reply);
    return rest.map((s) => toSessionEntry(parseEntry(s)));
  }

  async getSession(sessionId: string): Promise<SessionInfo | null> {
    const k = sessionKeys(this.prefix, sessionId);
    const reply = await SCRIPTS.getSession.run(this.client, [k.meta, k.log, k.held], [sessionId]);
    const { outcome, rest } = interpretReply('getSession', sessionId, reply);
    if (outcome === 'missing') return null;
    return toSessionInfo(sessionId, Number(rest[0]), rest[1] as string[], Number(rest[2] ?? 0));
  }

  async listSessions(options: ListOptions = {}): Promise<SessionInfo[]> {
    const limit = Math.floor(options.limit ?? 100);
    if (!(limit >= 1)) return [];
    const index = sessionIndexKey(this.prefix);
    const found: SessionInfo[] = [];
    // Page through the index: an entry may name a session deleted concurrently (the index is
    // updated beside the scripts, not inside them), and such entries are skipped.
    for (let start = 0; found.length < limit; start += limit) {
      const ids = await this.call('ZREVRANGE', () => this.client.zrevrange(index, start, start + limit - 1));
      const infos = await Promise.all(ids.map((id) => this.getSession(id)));
      for (const info of infos) if (info && found.length < limit) found.push(info);
      if (ids.length < limit) break;
    }
    return found.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  async updateMetadata(sessionId: string, patch: Metadata): Promise<void> {
    await this.updateMetadataIf(sessionId, {}, patch);
  }

  async updateMetadataIf(sessionId: string, expected: Metadata, patch: Metadata): Promise<boolean> {
    const k = sessionKeys(this.prefix, sessionId);
    for (const p of [expected, patch]) {
      if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new BotHostError('INVALID_METADATA', 'a metadata patch must be a plain object');
    }
    const pairsOf = (m: Metadata): string[] => {
      const pairs: string[] = [];
      for (const [key, value] of Object.entries(m)) {
        const json = value === null ? '' : toJson(value, `metadata key ${JSON.stringify(key)}`, 'INVALID_METADATA');
        if (json !== undefined) pairs.push(MD + key, json);
      }
      return pairs;
    };
    const want = pairsOf(expected);
    const args = [sessionId, String(Date.now()), String(want.length / 2), ...want, ...pairsOf(patch)];
    const run = () => SCRIPTS.updateMetadata.run(this.client, [k.meta], args);
    // Unconditional merges touch the index in parallel; a conditional one only once it applied.
    const reply = want.length === 0 ? (await Promise.all([run(), this.touch(sessionId, Number(args[1]))]))[0] : await run();
    const { outcome } = interpretReply('updateMetadata', sessionId, reply);
    if (outcome === 'unmet') return false;
    if (want.length > 0) await this.touch(sessionId, Number(args[1]));
    return true;
  }

  /** Quits the connection only if this store created it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownsClient) return;
    try {
      await this.connection.quit();
    } catch {
      this.connection.disconnect();
    }
  }

  /** The connection, or a clear error once closed (a shared client may still be open). */
  private get client(): Redis {
    if (this.closed) throw new StoreError('this Redis session store is closed; create a new one to keep using it');
    return this.connection;
  }

  private touch(sessionId: string, ts: number): Promise<number> {
    return this.call('ZADD', () => this.client.zadd(sessionIndexKey(this.prefix), ts, sessionId));
  }

  private async call<T>(command: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      if (cause instanceof StoreError) throw cause;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new StoreError(`Redis ${command} failed: ${reason}; check that Redis is reachable`, { cause });
    }
  }
}

/** An entry's JSON without `c` and `ts`, which the commit script prepends. Starts with `{"r":`. */
function entryBody(e: NewEntry): string {
  const body = toJson({ r: e.role, m: e.content, ...(e.metadata ? { md: e.metadata } : {}) }, 'message metadata', 'INVALID_COMMIT');
  return body!;
}

function toJson(value: unknown, what: string, code: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new BotHostError(code, `${what} cannot be stored as JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Stored log entries (raw, as LRANGE of the `log` key returns them) as LLM history: for
 * callers that read the log inside their own script (the turn worker's claim and pop).
 */
function historyFromLog(raw: readonly unknown[]): ChatMessage[] {
  return raw.map((s) => {
    const e = parseEntry(s);
    return { role: e.r, content: e.m };
  });
}

function parseEntry(raw: unknown): StoredEntry {
  try {
    const e = JSON.parse(String(raw)) as StoredEntry;
    if (Number.isSafeInteger(e.c) && typeof e.m === 'string') return e;
  } catch {
    // fall through to the error below
  }
  throw new StoreError(`a stored session entry is not valid (${String(raw).slice(0, 80)}…); another program may be writing these keys`);
}

function toSessionEntry(e: StoredEntry): SessionEntry {
  return { cursor: e.c, role: e.r, content: e.m, ts: e.ts, ...(e.md ? { metadata: e.md } : {}) };
}

function toSessionInfo(sessionId: string, messageCount: number, flat: string[], heldCount: number): SessionInfo {
  const fields = new Map<string, string>();
  const metadata: Array<[string, unknown]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [name, value] = [flat[i]!, flat[i + 1]!];
    if (name.startsWith(MD)) metadata.push([name.slice(MD.length), JSON.parse(value)]);
    else fields.set(name, value);
  }
  const createdAt = Number(fields.get('created'));
  return {
    id: sessionId,
    createdAt,
    updatedAt: Number(fields.get('updated') ?? createdAt),
    messageCount,
    ...(heldCount > 0 ? { heldCount } : {}),
    lastCursor: Number(fields.get('last') ?? 0),
    // fromEntries defines own properties, so a key like "__proto__" stays data.
    metadata: Object.fromEntries(metadata),
  };
}
