/**
 * Redis keys of the distributed turn queue. Per-session keys share the session store's hash
 * tag (`<prefix>:s:{<encoded id>}`, see src/redis/redis-keys.ts), so one Lua script can
 * check the store's committed ids, the inbox and the lease together, also on Redis Cluster.
 *
 *   …:inbox    LIST    accepted turns (JSON TurnRequest), oldest first; the head is being run
 *   …:pending  SET     inbound ids in the inbox (a redelivery is not queued twice)
 *   …:kicked   STRING  set while a kick job exists or a worker drains; cleared atomically with
 *                      the lease release when the inbox is empty
 *   …:tries    HASH    inbound id → failed attempts
 *   <prefix>:inboxes   ZSET  session id → when it last got work (cross-slot; for the sweep)
 *   <prefix>:dead      LIST  dead-letter records of turns that failed for good
 *
 * Per bot (hash tag `{<encoded bot id>}`, see outbox-consumer.ts):
 *   <prefix>:outbox:{<bot>}       STREAM  final replies and failure notices, fields i (inbound
 *                                         id) and m (the message JSON); consumer group `delivery`
 *   <prefix>:outbox:{<bot>}:sent  ZSET    `s:<record>` (a send began) / `d:<record>` (sent) → ms
 */
import { sessionKeyBase, sessionKeys } from '../redis/redis-keys.js';
import { encodeSessionId } from '../core/session-id.js';

export interface InboxKeys {
  inbox: string;
  pending: string;
  kicked: string;
  tries: string;
  /** From the session store's layout (src/redis/redis-keys.ts). */
  ids: string;
  lease: string;
  meta: string;
  log: string;
}

export function inboxKeys(prefix: string, sessionId: string): InboxKeys {
  const base = sessionKeyBase(prefix, sessionId);
  return {
    inbox: `${base}:inbox`,
    pending: `${base}:pending`,
    kicked: `${base}:kicked`,
    tries: `${base}:tries`,
    ...sessionKeys(prefix, sessionId),
  };
}

export const inboxIndexKey = (prefix: string) => `${prefix}:inboxes`;
export const deadLetterKey = (prefix: string) => `${prefix}:dead`;

export interface OutboxKeys {
  stream: string;
  sent: string;
}

/** The bot id is encoded like a session id, so no bot id can move the hash tag or name another key. */
export function outboxKeys(prefix: string, botId: string): OutboxKeys {
  const stream = `${prefix}:outbox:{${encodeSessionId(botId)}}`;
  return { stream, sent: `${stream}:sent` };
}

/** Partial (streamed) replies stay best-effort pub/sub on this channel. */
export const deliveryChannel = (prefix: string, botId: string) => `${prefix}:delivery:${botId}`;
