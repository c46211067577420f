/**
 * The orphan sweep: inboxes with turns that nobody drains (their kick job was lost, e.g. an
 * ingress killed between storing a turn and adding the job, or failed for good) are kicked
 * again. Runs in every worker on a timer; sessions with an empty inbox leave the index.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { addKick } from './bullmq-turn-queue.js';
import { inboxIndexKey, inboxKeys } from './inbox-keys.js';

export interface SweepOptions {
  client: Redis;
  queue: Queue;
  prefix: string;
  /** Inboxes that got work longer ago than this, with nobody holding their lease, are kicked. */
  orphanAgeMs: number;
  onSwept?: (sessionId: string) => void;
}

/**
 * Re-kick inboxes nobody drains: their kick job was lost (enqueue died between storing the
 * turn and adding the job) or failed for good. Sessions with an empty inbox leave the index.
 */
export async function sweepOrphanedInboxes(o: SweepOptions): Promise<number> {
  const { client, queue, prefix } = o;
  const index = inboxIndexKey(prefix);
  const stale = await client.zrangebyscore(index, 0, Date.now() - o.orphanAgeMs, 'LIMIT', 0, 200);
  let kicked = 0;
  for (const sessionId of stale) {
    const keys = inboxKeys(prefix, sessionId);
    const [len, leased] = await Promise.all([client.llen(keys.inbox), client.exists(keys.lease)]);
    if (len === 0) {
      await client.zrem(index, sessionId);
      // An enqueue between LLEN and ZREM found the entry present and added none: put it back.
      if ((await client.llen(keys.inbox)) > 0) await client.zadd(index, 'NX', Date.now(), sessionId);
      continue;
    }
    await client.zadd(index, 'XX', Date.now(), sessionId);
    if (leased) continue;
    await client.set(keys.kicked, Date.now());
    await addKick(queue, sessionId);
    kicked++;
    o.onSwept?.(sessionId);
  }
  return kicked;
}
