/**
 * The distributed turn queue, ingress side. `enqueue` stores the turn in its session's inbox
 * (durable in Redis before it resolves, so the platform is acknowledged only after) and, in the
 * same script, adds a kick job when the session has none. Workers (turn-worker.ts) drain
 * inboxes in order.
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
import { LuaScript } from '../redis/lua-script.js';
import { inboxIndexKey, inboxKeys } from './inbox-keys.js';

export const QUEUE_DEFAULTS = Object.freeze({
  name: 'bothost-turns',
  prefix: 'bothost',
});

const enqueueScript = new LuaScript(new URL('./lua/enqueueTurn-11.lua', import.meta.url));

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

/** A kick job's id and options. Ids are unique (never `:`, never all digits): dedupe is the `kicked` flag's job. */
export function kickJob(sessionId: string) {
  const data: KickJobData = { sessionId };
  // `attempts: 0` (no retry of BullMQ's own) is what Queue.add stores when none is given; said
  // here so the enqueue script stores the very same options.
  return { data, opts: { jobId: `kick-${randomUUID()}`, removeOnComplete: true, removeOnFail: 1000, attempts: 0 } } as const;
}

/** Add a kick job through BullMQ (the sweep and the worker's re-kick; enqueue adds its own in its script). */
export async function addKick(queue: Queue, sessionId: string): Promise<void> {
  const { data, opts } = kickJob(sessionId);
  await queue.add('kick', data, opts);
}

export class BullMQTurnQueue implements TurnQueue {
  readonly prefix: string;
  readonly queue: Queue;
  private readonly client: Redis;
  private readonly bull: Redis;
  private readonly enqueueTimeoutMs: number;
  /** The BullMQ keys the enqueue script adds a kick job under (wait, meta, active, events, marker). */
  private readonly kickKeys: string[];
  private closed = false;

  constructor(options: BullMQTurnQueueOptions) {
    this.client = options.client;
    this.enqueueTimeoutMs = options.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS;
    this.prefix = options.prefix ?? QUEUE_DEFAULTS.prefix;
    this.bull = bullConnection(this.client);
    this.queue = new Queue(options.queueName ?? QUEUE_DEFAULTS.name, { connection: this.bull, prefix: `${this.prefix}:bull` });
    // Connection errors are reported once per interval on the main client (reportRedisOutages); unheard, BullMQ prints each with a stack.
    this.queue.on('error', () => undefined);
    this.kickKeys = ['wait', 'meta', 'active', 'events', 'marker'].map((type) => this.queue.toKey(type));
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

  /** One script: the turn into the inbox and, when the session has no kick pending, its kick job (see enqueueTurn-11.lua). */
  private async store(request: TurnRequest): Promise<void> {
    const keys = inboxKeys(this.prefix, request.sessionId);
    const inboundId = `${request.inbound.botId}:${request.inbound.messageId}`;
    const { data, opts } = kickJob(request.sessionId);
    await enqueueScript.run(
      this.client,
      [keys.inbox, keys.pending, keys.kicked, keys.ids, inboxIndexKey(this.prefix), ...this.kickKeys, this.queue.toKey(opts.jobId)],
      [inboundId, JSON.stringify(request), Date.now(), request.sessionId, opts.jobId, JSON.stringify(data), JSON.stringify(opts)],
    );
  }

  /** Workers connected to this queue (BullMQ names their connections; read with CLIENT LIST). */
  workerCount(): Promise<number> {
    return this.queue.getWorkersCount();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.close();
    this.bull.disconnect();
  }
}
