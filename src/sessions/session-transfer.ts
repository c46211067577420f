/**
 * Moving whole sessions between backends with their cursors, timestamps, metadata, remembered
 * inbound ids and fences (`bot session migrate`). Each backend gets a `TransferEnd`: the store
 * itself, what it can say beyond the SessionLog API (inbound ids, fence), and how it writes an
 * image. Postgres has these as methods; Redis and file are handled here, beside their stores,
 * so the stores themselves stay as they are.
 */
import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SessionLog } from '../core/session-store.js';
import { createExclusive } from './atomic-file.js';
import { FORMAT_VERSION, parseRecord, serialize, type CommitRecord, type HeaderRecord, type LogRecord } from './file-log-format.js';
import type { FileSessionStore } from './file-session-store.js';
import { sessionIndexKey, sessionKeys } from '../redis/redis-keys.js';
import { interpretReply } from './redis-script-codes.js';
import { luaScript } from '../redis/lua-script.js';
import type { RedisSessionStore } from './redis-session-store.js';
import type { SessionImage, SessionImageExtras, SessionImporter } from './session-image.js';

export interface TransferEnd extends SessionImporter, SessionImageExtras {
  store: SessionLog;
}

const importScript = luaScript('importSession-3.lua', import.meta.url);
const MD = 'md:';

/** Redis: the store plus a client on the same server and prefix for what the store does not expose. */
export function redisTransferEnd(store: RedisSessionStore, client: Redis): TransferEnd {
  const prefix = store.prefix;
  return {
    store,
    async inboundIds(id) {
      const flat = await client.zrange(sessionKeys(prefix, id).ids, 0, -1, 'WITHSCORES');
      const out: Array<[string, number]> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
      return out;
    },
    async fence(id) {
      return Number((await client.hget(sessionKeys(prefix, id).meta, 'fence')) ?? 0);
    },
    async importImage(image) {
      const k = sessionKeys(prefix, image.id);
      const md = Object.entries(image.metadata).flatMap(([key, value]) => [MD + key, JSON.stringify(value)]);
      const entries = image.entries.slice(-store.maxMessages).map((e) =>
        JSON.stringify({ c: e.cursor, ts: e.ts, r: e.role, m: e.content, ...(e.metadata ? { md: e.metadata } : {}) }),
      );
      const args = [image.id, image.createdAt, image.updatedAt, image.lastCursor, image.fence, md.length / 2, ...md, image.inboundIds.length, ...image.inboundIds.flat(), ...entries];
      const reply = await importScript.run(client, [k.meta, k.log, k.ids], args);
      const { outcome } = interpretReply('importSession', image.id, reply);
      if (outcome === 'exists') return 'exists';
      await client.zadd(sessionIndexKey(prefix), image.updatedAt, image.id);
      return 'imported';
    },
  };
}

/** File: reads the session's records for ids and fence; writes a complete new file, or nothing. */
export function fileTransferEnd(store: FileSessionStore): TransferEnd {
  const records = async (id: string): Promise<LogRecord[]> => {
    const text = await fsp.readFile(store.fileFor(id), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    return text.split('\n').flatMap((line) => {
      const rec = line ? parseRecord(line) : null;
      return rec ? [rec] : [];
    });
  };
  return {
    store,
    async inboundIds(id) {
      const ids = new Map<string, number>();
      for (const rec of await records(id)) {
        if (rec.t === 'h') for (const [inbound, cursor] of rec.ids ?? []) ids.set(inbound, cursor);
        else if (rec.t === 'c' && rec.in !== undefined) ids.set(rec.in, rec.c);
      }
      return [...ids];
    },
    async fence(id) {
      let fence = 0;
      for (const rec of await records(id)) fence = Math.max(fence, rec.t === 'h' ? (rec.fence ?? 0) : rec.t === 'c' ? (rec.f ?? 0) : 0);
      return fence;
    },
    async importImage(image) {
      if (await store.sessionExists(image.id)) return 'exists';
      const entries = image.entries.slice(-store.maxMessages);
      const base = entries.length > 0 ? entries[0]!.cursor - 1 : image.lastCursor;
      const header: HeaderRecord = {
        t: 'h', g: randomBytes(8).toString('hex'), v: FORMAT_VERSION, id: image.id, created: image.createdAt, base, fence: image.fence, meta: image.metadata, ids: image.inboundIds,
      };
      const lines = [serialize(header)];
      // One commit record per run of entries committed at the same time (a turn).
      let run: CommitRecord | undefined;
      for (const e of entries) {
        const stored = { r: e.role, m: e.content, ...(e.metadata ? { md: e.metadata } : {}) };
        if (run && run.ts === e.ts && run.c + run.e.length === e.cursor) run.e.push(stored);
        else {
          if (run) lines.push(serialize(run));
          run = { t: 'c', c: e.cursor, ts: e.ts, e: [stored] };
        }
      }
      if (run) lines.push(serialize(run));
      // The last activity may be a metadata write after the last entry: keep it.
      const lastTs = entries.at(-1)?.ts ?? image.createdAt;
      if (image.updatedAt > lastTs) lines.push(serialize({ t: 'm', ts: image.updatedAt, meta: {} }));
      await fsp.mkdir(store.dir, { recursive: true, mode: 0o700 });
      const file = store.fileFor(image.id);
      await createExclusive(file, lines.join(''), true);
      // The file store lists sessions by modification time: give the file its last activity.
      await fsp.utimes(file, new Date(), new Date(image.updatedAt));
      return 'imported';
    },
  };
}

/** Postgres implements the whole end itself. */
export function postgresTransferEnd(store: SessionLog & SessionImporter & SessionImageExtras): TransferEnd {
  return {
    store,
    inboundIds: (id) => store.inboundIds(id),
    fence: (id) => store.fence(id),
    importImage: (image: SessionImage) => store.importImage(image),
  };
}
