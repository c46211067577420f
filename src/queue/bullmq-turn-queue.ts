/**
 * The distributed turn queue, ingress side. `enqueue` stores the turn in its session's inbox
 * (durable in Redis before it resolves, so the platform is acknowledged only after) and makes
 * sure a kick job exists for the session. Workers (turn-worker.ts) drain inboxes in order.
 *
 * BullMQ alone cannot keep per-session order (that needs BullMQ Pro groups); here BullMQ only
 * carries "session X has work" kicks, at least once, with stall recovery — the order lives in
 * the inbox LIST and the lease.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BotHostError, StoreError } from '../core/errors.js';
import type { TurnQueue, TurnRequest } from '../core/turn-queue.js';
import { LuaScript } from '../sessions/redis-scripts.js';
import { inboxIndexKey, inboxKeys } from './inbox-keys.js';

export const QUEUE_DEFAULTS = Object.freeze({
  name: 'bothost-turns',
  prefix: 'bothost',
});

const enqueueScript = new LuaScript(new URL('./lua/enqueueTurn-5.lua', import.meta.url));

export const ENQUEUE_REPLY = Object.freeze({ committed: 0, kick: 1, queued: 2, redelivered: 3 });

/** An enqueue that gets no answer from Redis within this long is refused (the platform redelivers). */
export const ENQUEUE_TIMEOUT_MS = 5_000;

/**
 * BullMQ gets its own connection: it defines ~50 scripts on the connection it is given, and its
 * job fetches and completions then never queue behind a batch of our commands (or ours behind
 * its). A duplicate is a plain ioredis client: BullMQ awaits its calls one by one anyway.
 */
export function bullConnection(client: Redis): Redis {
  const bull = client.duplicate();
  bull.on('error', () => undefined);
  return bull;
}

export interface KickJobData {
  sessionId: string;
}

export interface BullMQTurnQueueOptions {
  client: Redis;
  /** Key prefix shared with the Redis session store. */
  prefix?: string;
  queueName?: string;
  /** Refuse an enqueue Redis has not answered within this long; default ENQUEUE_TIMEOUT_MS. */
  enqueueTimeoutMs?: number;
}

/** A kick job. Ids are unique (never `:`, never all digits): dedupe is the `kicked` flag's job. */
export async function addKick(queue: Queue, sessionId: string): Promise<void> {
  await queue.add('kick', { sessionId } satisfies KickJobData, {
    jobId: `kick-${randomUUID()}`,
    removeOnComplete: true,
    removeOnFail: 1000,
  });
}

export class BullMQTurnQueue implements TurnQueue {
  readonly prefix: string;
  readonly queue: Queue;
  private readonly client: Redis;
  private readonly bull: Redis;
  private readonly enqueueTimeoutMs: number;
  private closed = false;

  constructor(options: BullMQTurnQueueOptions) {
    this.client = options.client;
    this.enqueueTimeoutMs = options.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS;
    this.prefix = options.prefix ?? QUEUE_DEFAULTS.prefix;
    this.bull = bullConnection(this.client);
    this.queue = new Queue(options.queueName ?? QUEUE_DEFAULTS.name, { connection: this.bull, prefix: `${this.prefix}:bull` });
  }

  /** Resolves once the turn is in Redis; rejects (so the platform will redeliver) if Redis is down. */
  async enqueue(request: TurnRequest): Promise<void> {
    if (this.closed) throw new BotHostError('QUEUE_CLOSED', 'the turn queue is shutting down; try again shortly');
    // The queue's connection never fails a command (maxRetriesPerRequest: null): while Redis is
    // down it would hold the enqueue until Redis is back, and the platform would wait on an
    // unacknowledged message instead of redelivering it. Refuse at once instead, and bound the
    // wait for a Redis that dies mid-call (a late success is harmless: the redelivery dedupes).
    if (this.client.status !== 'ready') {
      throw new StoreError(`Redis is not reachable (connection ${this.client.status}); the turn was not accepted and should be redelivered`);
    }
    let timer: NodeJS.Timeout | undefined;
    const stored = this.store(request);
    stored.catch(() => undefined);
    try {
      await Promise.race([
        stored,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new StoreError(`Redis did not answer within ${this.enqueueTimeoutMs} ms; the turn was not acknowledged and should be redelivered`)),
            this.enqueueTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async store(request: TurnRequest): Promise<void> {
    const keys = inboxKeys(this.prefix, request.sessionId);
    const inboundId = `${request.inbound.botId}:${request.inbound.messageId}`;
    const reply = Number(
      await enqueueScript.run(this.client, [keys.inbox, keys.pending, keys.kicked, keys.ids, inboxIndexKey(this.prefix)], [inboundId, JSON.stringify(request), Date.now(), request.sessionId]),
    );
    // Reply `queued`: a kick is pending and the inbox is already in the sweep's index (the script
    // put it there whenever a kick was needed).
    if (reply !== ENQUEUE_REPLY.kick && reply !== ENQUEUE_REPLY.redelivered) return;
    try {
      await addKick(this.queue, request.sessionId);
    } catch (cause) {
      // The turn is stored; without a kick only the sweep would find it. Refuse, so the
      // platform redelivers and the redelivery (reply 3) adds the kick.
      throw new StoreError(`turn stored but could not be scheduled: ${(cause as Error).message}`, { cause });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.close();
    this.bull.disconnect();
  }
}
