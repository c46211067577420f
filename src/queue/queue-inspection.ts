/**
 * What the queue holds, read from Redis for `bot queue status` and the queue gauges of
 * `/metrics`: the turns waiting in session inboxes (and how long the oldest has waited), and
 * each bot's outbox (replies not yet read by an ingress process, or read and not yet sent).
 */
import type { Redis } from 'ioredis';
import { inboxIndexKey, inboxKeys, outboxKeys } from './inbox-keys.js';
import { OUTBOX_DEFAULTS } from './outbox-consumer.js';

/**
 * Every session with queued turns: the sweep index lists them all (an enqueue adds the session,
 * the sweep removes it once empty), read in pages with one pipelined round trip per page.
 */
export async function inspectInboxes(redis: Redis, prefix: string): Promise<{ queuedTurns: number; oldest: number | undefined; sessionsTracked: number }> {
  const PAGE = 1000;
  let queuedTurns = 0;
  let oldest: number | undefined;
  let sessionsTracked = 0;
  for (let start = 0; ; start += PAGE) {
    const sessions = await redis.zrange(inboxIndexKey(prefix), start, start + PAGE - 1);
    sessionsTracked += sessions.length;
    const pipe = redis.pipeline();
    for (const id of sessions) {
      const keys = inboxKeys(prefix, id);
      pipe.llen(keys.inbox).lindex(keys.inbox, 0);
    }
    const replies = sessions.length > 0 ? ((await pipe.exec()) ?? []) : [];
    for (let i = 0; i + 1 < replies.length; i += 2) {
      queuedTurns += Number(replies[i]![1] ?? 0);
      const head = replies[i + 1]![1] as string | null;
      const at = head ? (JSON.parse(head) as { inbound?: { receivedAt?: number } }).inbound?.receivedAt : undefined;
      if (at !== undefined) oldest = Math.min(oldest ?? at, at);
    }
    if (sessions.length < PAGE) break;
  }
  return { queuedTurns, oldest, sessionsTracked };
}

/** Each bot's outbox: replies no ingress process has read yet, and ones read but not yet acknowledged. */
export interface OutboxStatus {
  bot: string;
  /** False: a broadcast route, or no ingress process has consumed this bot's replies yet. */
  consumerGroup: boolean;
  entries: number;
  /** Replies no ingress process has read yet (null when Redis cannot tell). */
  undelivered: number | null;
  /** Read by an ingress process, not yet acknowledged. */
  inDelivery: number;
}

/**
 * Each bot's outbox: `botIds` when given (a scrape: one XINFO and XLEN per known bot), else every
 * outbox stream under `prefix`, found with SCAN (`bot queue status`: on demand, whole keyspace).
 */
export async function inspectOutboxes(redis: Redis, prefix: string, botIds?: readonly string[]): Promise<OutboxStatus[]> {
  const found: OutboxStatus[] = [];
  if (botIds) {
    for (const bot of botIds) {
      const status = await outboxStatus(redis, outboxKeys(prefix, bot).stream, bot);
      if (status) found.push(status);
    }
  } else {
    const pattern = `${prefix}:outbox:{*}`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000, 'TYPE', 'stream');
      cursor = next;
      for (const key of keys) {
        const status = await outboxStatus(redis, key, decodeBotId(key.slice(`${prefix}:outbox:{`.length, -1)));
        if (status) found.push(status);
      }
    } while (cursor !== '0');
  }
  return found.sort((a, b) => a.bot.localeCompare(b.bot));
}

/** One outbox stream's status; undefined when the stream does not exist. */
async function outboxStatus(redis: Redis, key: string, bot: string): Promise<OutboxStatus | undefined> {
  const entries = await redis.xlen(key);
  if (entries === 0 && (await redis.exists(key)) === 0) return undefined;
  const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
  const group = groups.map((g) => fieldsOf(g)).find((g) => g.name === OUTBOX_DEFAULTS.group);
  return {
    bot,
    consumerGroup: group !== undefined,
    entries,
    undelivered: group ? (group.lag === null || group.lag === undefined ? null : Number(group.lag)) : entries,
    inDelivery: group ? Number(group.pending) : 0,
  };
}

function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function decodeBotId(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}
