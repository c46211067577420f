/**
 * Stuck sessions: inboxes with turns queued and no live lease — nobody is draining them. Read
 * from the orphan sweep's index (every session with queued turns is in it), one pipelined round
 * trip per page of 1000 sessions. Shared by `bot queue sessions --stuck` and `/admin/`.
 *
 * A session whose turn was queued a moment ago also has no lease yet (its kick job is waiting
 * for a worker), so only turns older than `minAgeMs` count.
 */
import type { Redis } from 'ioredis';
import { inboxIndexKey, inboxKeys } from './inbox-keys.js';

export interface QueuedSession {
  sessionId: string;
  /** Turns in its inbox. */
  queuedTurns: number;
  /** When its oldest queued turn was accepted (ms since the epoch). */
  oldestAt: number;
  waitingMs: number;
  /** A kick job exists (or a worker drains it): a worker should pick it up; false: only the sweep will. */
  kickPending: boolean;
  /** A worker holds its lease (it is being drained). */
  leased: boolean;
}

export const STUCK_DEFAULTS = Object.freeze({ minAgeMs: 10_000 });

const PAGE = 1000;

/** Stuck sessions (no lease, oldest turn at least `minAgeMs` old), oldest first. */
export async function listStuckSessions(redis: Redis, prefix: string, options: { minAgeMs?: number; now?: number } = {}): Promise<QueuedSession[]> {
  const minAgeMs = options.minAgeMs ?? STUCK_DEFAULTS.minAgeMs;
  const now = options.now ?? Date.now();
  return (await listQueuedSessions(redis, prefix, now)).filter((s) => !s.leased && now - s.oldestAt >= minAgeMs);
}

/** Every session with turns queued, leased or not, oldest first. */
export async function listQueuedSessions(redis: Redis, prefix: string, now = Date.now()): Promise<QueuedSession[]> {
  const found: QueuedSession[] = [];
  for (let start = 0; ; start += PAGE) {
    const sessions = await redis.zrange(inboxIndexKey(prefix), start, start + PAGE - 1);
    if (sessions.length === 0) break;
    const pipe = redis.pipeline();
    for (const id of sessions) {
      const keys = inboxKeys(prefix, id);
      pipe.llen(keys.inbox).lindex(keys.inbox, 0).exists(keys.lease).exists(keys.kicked);
    }
    const replies = (await pipe.exec()) ?? [];
    sessions.forEach((sessionId, i) => {
      const [len, head, leased, kicked] = replies.slice(i * 4, i * 4 + 4).map((r) => r[1]);
      if (Number(len ?? 0) === 0) return;
      const oldestAt = receivedAt(head as string | null) ?? now;
      found.push({ sessionId, queuedTurns: Number(len), oldestAt, waitingMs: now - oldestAt, kickPending: Number(kicked) === 1, leased: Number(leased) === 1 });
    });
    if (sessions.length < PAGE) break;
  }
  return found.sort((a, b) => a.oldestAt - b.oldestAt);
}

function receivedAt(head: string | null): number | undefined {
  if (!head) return undefined;
  try {
    return (JSON.parse(head) as { inbound?: { receivedAt?: number } }).inbound?.receivedAt;
  } catch {
    return undefined;
  }
}
