/**
 * The dead letters kept in the Redis list `<prefix>:dead` (newest first) by the same script that
 * removed each failed-for-good turn from its inbox, and their retry — shared by
 * `bot queue dead …` and the gateway's `/admin/` page.
 *
 * A retry takes the record out of the list with LREM of its exact text — of two concurrent
 * retries only one removes it — and only then enqueues its turn again, so a retried dead letter
 * runs as a new turn of its session exactly once. (A crash between the two loses the retry,
 * never doubles it.) Records written before the request was kept in them cannot be retried.
 */
import type { Redis } from 'ioredis';
import { BotHostError } from '../core/errors.js';
import type { TurnRequest } from '../core/turn-queue.js';
import { BullMQTurnQueue } from './bullmq-turn-queue.js';
import { deadLetterKey } from './inbox-keys.js';

export interface DeadLetter {
  at: number;
  sessionId: string;
  inboundId: string;
  tries: number;
  error: string;
  request?: TurnRequest;
}

export interface ListedDeadLetter {
  /** 1-based position in the list, newest first. */
  n: number;
  /** The record's exact text (what a retry removes). */
  raw: string;
  record: DeadLetter;
}

export interface DeadLetterQueue {
  redis: Redis;
  prefix: string;
  queueName: string;
}

export async function listDeadLetters(redis: Redis, prefix: string): Promise<ListedDeadLetter[]> {
  const raws = await redis.lrange(deadLetterKey(prefix), 0, -1);
  return raws.map((raw, i) => ({ n: i + 1, raw, record: JSON.parse(raw) as DeadLetter }));
}

/** By position (`3`) or inbound id (`bot:123`). */
export function pickDeadLetter(all: ListedDeadLetter[], selector: string): ListedDeadLetter {
  const found = /^\d+$/.test(selector) ? all.find((d) => d.n === Number(selector)) : all.find((d) => d.record.inboundId === selector);
  if (!found) throw new BotHostError('NO_DEAD_LETTER', `no dead letter "${selector}" (there are ${all.length}); see \`bot queue dead list\``);
  return found;
}

/**
 * Takes `chosen` out of the list and queues its turn again. `beforeEnqueue` runs once the record
 * is ours (the CLI prints it there, so a crash right after leaves it on screen).
 */
export async function retryDeadLetter(q: DeadLetterQueue, chosen: ListedDeadLetter, beforeEnqueue?: () => void): Promise<void> {
  const { request } = chosen.record;
  if (!request) throw new BotHostError('NOT_RETRYABLE', `dead letter ${chosen.record.inboundId} predates retries (it does not keep its message); \`bot queue dead show\` has what is known`);
  if ((await q.redis.lrem(deadLetterKey(q.prefix), 1, chosen.raw)) !== 1) {
    throw new BotHostError('NO_DEAD_LETTER', `dead letter ${chosen.record.inboundId} was retried or purged meanwhile; nothing done`);
  }
  beforeEnqueue?.();
  const queue = new BullMQTurnQueue({ client: q.redis, prefix: q.prefix, queueName: q.queueName });
  try {
    await queue.enqueue({ ...request, inbound: { ...request.inbound, receivedAt: Date.now() } });
  } finally {
    await queue.close();
  }
}
