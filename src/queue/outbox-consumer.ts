/**
 * The durable delivery outbox, ingress side: one `OutboxConsumer` per bot this process
 * delivers for. Workers append each final reply and failure notice to the bot's stream inside
 * the script that pops the turn (popTurn-10.lua); every ingress process of the bot reads it in
 * one consumer group, so each entry goes to exactly one live process.
 *
 * Invariants (I6 in docs/reliability.md):
 * - An entry is acknowledged (XACK) only after the adapter's Delivery resolved, or after the
 *   send was given up for good (logged). A process that dies holding entries leaves them
 *   pending; another consumer claims them (XAUTOCLAIM) once they were idle `claimIdleMs`. A live
 *   consumer refreshes the entries it holds every third of that, so they are never claimed
 *   from under it while it is merely slow (a platform's 429 wait, say).
 * - A sent record per (bot, kind, inbound id) is checked and marked before a send and written
 *   after it (beginSend-1 / finishSend-2): an entry that was sent is never sent again, whoever
 *   holds it. Only a death between the send and its record can repeat it; the next holder
 *   finds the mark of the interrupted send, sends, and counts a possible duplicate.
 * - One session's replies are delivered in stream order; different sessions' concurrently.
 * - The stream keeps every unacknowledged entry; acknowledged ones are trimmed as they go.
 *
 * Start/stop are idempotent. Closing waits (bounded) for sends in flight and hands entries
 * whose send never began back at once (idle time set past the claim threshold), so another
 * process delivers them without waiting.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ModelError } from '../core/errors.js';
import type { Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { LuaScript } from '../redis/lua-script.js';
import { outboxKeys, type OutboxKeys } from './inbox-keys.js';
import { backoffDelayMs } from './retry.js';

const beginScript = new LuaScript(new URL('./lua/beginSend-1.lua', import.meta.url));
const finishScript = new LuaScript(new URL('./lua/finishSend-2.lua', import.meta.url));

export const OUTBOX_DEFAULTS = Object.freeze({
  group: 'delivery',
  /** An entry held this long by a consumer that stopped refreshing it is claimed by another. */
  claimIdleMs: 15_000,
  /** Entries read per XREADGROUP / XAUTOCLAIM. */
  batch: 128,
  /** Entries in hand (being delivered) before this process stops reading more. */
  maxInHand: 1024,
  /** How long one XREADGROUP blocks before looping (keeps close() and new groups prompt). */
  blockMs: 2_000,
  /**
   * When a read found a reply within this long (replies arrive faster than one per ms), the next
   * read waits this long first and takes the ones that gathered meanwhile: a busy bot's replies
   * cost a few round trips per batch instead of per reply, and go out at most this much later.
   * A read that waited longer (a quiet bot) is followed by the next one at once. 0: never wait.
   */
  lingerMs: 1,
  /** Tries of one send (the adapter threw) before it is given up and logged. */
  sendAttempts: 3,
  sendRetryBaseMs: 500,
  /** Sent records are kept this long, and at most this many per bot. */
  sentRetentionMs: 24 * 3600_000,
  sentMax: 200_000,
  /** A worker-side bound on a stream nobody consumes (a bot whose ingress is gone for good). */
  maxLength: 100_000,
  /** close() waits this long for sends in flight. */
  closeWaitMs: 5_000,
  /**
   * Consumers (one per process start) with nothing pending and idle this long are removed from
   * the group, checked at most every `forgetEveryMs`, so restarts do not pile up names.
   */
  forgetIdleConsumerMs: 3600_000,
  forgetEveryMs: 600_000,
});

/**
 * What the outbox carries: the same shapes the Delivery interface takes. A failure's `cause` is
 * the operator's version (retry.ts `operatorCause`); platform users only ever see `message`.
 */
export type OutboxMessage = { kind: 'final'; result: TurnResult } | { kind: 'failed'; request: TurnRequest; message: string; cause?: string };

/** A failure read back from the outbox, as the error `Delivery.failed` takes (the model's, when it was one). */
export function failureOf(message: { cause?: string }): ModelError | undefined {
  return typeof message.cause === 'string' ? new ModelError(message.cause, false) : undefined;
}

export type OutboxEvent =
  | { type: 'possible_duplicate'; botId: string; inboundId: string; kind: string }
  | { type: 'send_failed'; botId: string; inboundId: string; error: unknown; willRetry: boolean }
  | { type: 'claimed'; botId: string; count: number }
  | { type: 'bad_entry'; botId: string; id: string }
  | { type: 'error'; botId: string; error: unknown };

export interface OutboxConsumerOptions {
  /** A connection for short commands; the consumer duplicates it for its blocking reads. */
  client: Redis;
  prefix: string;
  botId: string;
  delivery: Delivery;
  /** Default `<host>-<pid>-<random>`: a restarted process is a new consumer. */
  consumer?: string;
  claimIdleMs?: number;
  batch?: number;
  /** Default OUTBOX_DEFAULTS.lingerMs (0: read again at once, also when replies arrive fast). */
  lingerMs?: number;
  sendAttempts?: number;
  sendRetryBaseMs?: number;
  /** Default OUTBOX_DEFAULTS.forgetIdleConsumerMs. */
  forgetIdleConsumerMs?: number;
  onEvent?: (event: OutboxEvent) => void;
}

interface Held {
  id: string;
  record: string;
  message: OutboxMessage;
  sessionId: string;
  /** The send began: the platform may have it, so it is never handed back unmarked. */
  started?: boolean;
}

type Entry = [id: string, fields: string[] | null];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
}

/** The sent-record name of an entry: kind and inbound id (a failure notice and a later reply are two sends). */
function recordOf(message: OutboxMessage, inboundId: string): string {
  return `${message.kind === 'final' ? 'f' : 'x'}:${inboundId}`;
}

export class OutboxConsumer {
  readonly consumer: string;
  /** Sends repeated after an interrupted one (I6), counted in this process. */
  possibleDuplicates = 0;
  delivered = 0;
  private readonly keys: OutboxKeys;
  private readonly blocking: Redis;
  private readonly o: Required<Pick<OutboxConsumerOptions, 'claimIdleMs' | 'batch' | 'lingerMs' | 'sendAttempts' | 'sendRetryBaseMs'>>;
  private readonly inHand = new Map<string, Held>();
  /** Per session, the tail of its delivery chain (keeps one session's replies in order). */
  private readonly chains = new Map<string, Promise<void>>();
  private finishing: Array<[string, string, 'sent' | 'ack' | 'drop']> = [];
  private flushScheduled = false;
  private running = false;
  private loops: Promise<void>[] = [];
  private claimTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastForget = 0;

  constructor(private readonly options: OutboxConsumerOptions) {
    this.consumer = options.consumer ?? defaultConsumerName();
    this.keys = outboxKeys(options.prefix, options.botId);
    this.o = {
      claimIdleMs: options.claimIdleMs ?? OUTBOX_DEFAULTS.claimIdleMs,
      batch: options.batch ?? OUTBOX_DEFAULTS.batch,
      lingerMs: options.lingerMs ?? OUTBOX_DEFAULTS.lingerMs,
      sendAttempts: options.sendAttempts ?? OUTBOX_DEFAULTS.sendAttempts,
      sendRetryBaseMs: options.sendRetryBaseMs ?? OUTBOX_DEFAULTS.sendRetryBaseMs,
    };
    this.blocking = options.client.duplicate({ enableAutoPipelining: false });
    this.blocking.on('error', () => undefined);
  }

  /** Creates the group if needed (from the stream's start: replies produced before any ingress ran are delivered too). */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.ensureGroup();
      this.running = true;
      this.loops.push(this.readLoop());
      await this.claimOnce().catch((error) => this.emit({ type: 'error', botId: this.options.botId, error }));
      this.scheduleClaims();
    })();
    return this.started;
  }

  /** Stop reading; wait (bounded) for sends in flight; hand the rest back. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.running = false;
      clearTimeout(this.claimTimer);
      this.wake?.();
      this.blocking.disconnect();
      await Promise.race([Promise.allSettled([...this.chains.values()]), sleep(OUTBOX_DEFAULTS.closeWaitMs)]);
      await Promise.allSettled(this.loops);
      await this.flush().catch(() => undefined);
      await this.handBack().catch(() => undefined);
    })();
    return this.closing;
  }

  private emit(event: OutboxEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A failing hook must not stop delivery.
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.options.client.xgroup('CREATE', this.keys.stream, OUTBOX_DEFAULTS.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  private async readLoop(): Promise<void> {
    while (this.running) {
      if (this.inHand.size >= OUTBOX_DEFAULTS.maxInHand) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      try {
        const issuedAt = performance.now();
        const reply = (await this.blocking.xreadgroup(
          'GROUP', OUTBOX_DEFAULTS.group, this.consumer,
          'COUNT', this.o.batch, 'BLOCK', OUTBOX_DEFAULTS.blockMs,
          'STREAMS', this.keys.stream, '>',
        )) as Array<[string, Entry[]]> | null;
        if (!reply) continue;
        const entries = reply[0]![1];
        const busy = performance.now() - issuedAt < this.o.lingerMs && entries.length < this.o.batch;
        await this.take(entries);
        if (busy) await sleep(this.o.lingerMs);
      } catch (error) {
        if (!this.running) return;
        // Redis restarted without the stream or group (no persistence): recreate, keep going.
        if (String((error as Error).message).includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
        else this.emit({ type: 'error', botId: this.options.botId, error });
        if (this.blocking.status === 'end') return;
        await sleep(500);
      }
    }
  }

  private scheduleClaims(): void {
    if (!this.running) return;
    this.claimTimer = setTimeout(() => {
      void this.claimOnce()
        .catch((error) => this.emit({ type: 'error', botId: this.options.botId, error }))
        .finally(() => this.scheduleClaims());
    }, Math.max(50, Math.floor(this.o.claimIdleMs / 3)));
    this.claimTimer.unref();
  }

  /**
   * Keep what this process holds from looking idle, then take over entries another consumer
   * stopped refreshing (it died, or is stopped).
   */
  private async claimOnce(): Promise<void> {
    const { client } = this.options;
    const mine = [...this.inHand.keys()];
    for (let i = 0; i < mine.length; i += 500) {
      await client.xclaim(this.keys.stream, OUTBOX_DEFAULTS.group, this.consumer, 0, ...mine.slice(i, i + 500), 'JUSTID');
    }
    let cursor = '0-0';
    do {
      if (!this.running) return;
      const [next, entries] = (await client.xautoclaim(
        this.keys.stream, OUTBOX_DEFAULTS.group, this.consumer, this.o.claimIdleMs, cursor, 'COUNT', this.o.batch,
      )) as [string, Entry[], string[]?];
      cursor = next;
      const fresh = entries.filter(([id]) => !this.inHand.has(id));
      if (fresh.length > 0) this.emit({ type: 'claimed', botId: this.options.botId, count: fresh.length });
      await this.take(fresh);
    } while (cursor !== '0-0');
    if (Date.now() - this.lastForget >= OUTBOX_DEFAULTS.forgetEveryMs) {
      this.lastForget = Date.now();
      await this.forgetIdleConsumers();
    }
  }

  /** Remove consumers of stopped processes once they hold nothing (their entries were claimed). */
  private async forgetIdleConsumers(): Promise<void> {
    const { client } = this.options;
    const consumers = (await client.xinfo('CONSUMERS', this.keys.stream, OUTBOX_DEFAULTS.group)) as unknown[][];
    for (const flat of consumers) {
      const c: Record<string, unknown> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) c[String(flat[i])] = flat[i + 1];
      const idleLimit = this.options.forgetIdleConsumerMs ?? OUTBOX_DEFAULTS.forgetIdleConsumerMs;
      if (c.name !== this.consumer && Number(c.pending) === 0 && Number(c.idle) >= idleLimit) {
        await client.xgroup('DELCONSUMER', this.keys.stream, OUTBOX_DEFAULTS.group, String(c.name));
      }
    }
  }

  /** Mark a batch as begun, then deliver each entry on its session's chain. */
  private async take(entries: Entry[]): Promise<void> {
    const held: Held[] = [];
    for (const [id, fields] of entries) {
      if (this.inHand.has(id)) continue;
      const parsed = fields ? parseEntry(fields) : undefined;
      if (!parsed) {
        // Deleted meanwhile (fields null) or not ours to understand: acknowledge, never loop on it.
        this.emit({ type: 'bad_entry', botId: this.options.botId, id });
        this.finish(id, `?:${id}`, 'ack');
        continue;
      }
      const h: Held = { id, record: recordOf(parsed.message, parsed.inboundId), message: parsed.message, sessionId: sessionOf(parsed.message) };
      this.inHand.set(id, h);
      held.push(h);
    }
    if (held.length === 0) return;
    let codes: number[];
    try {
      codes = (await beginScript.run(this.options.client, [this.keys.sent], [Date.now(), ...held.map((h) => h.record)])) as number[];
    } catch (error) {
      // Not marked, not sent: let go of them (no longer refreshed, they are claimed again after
      // the idle time, by this process or another).
      for (const h of held) this.inHand.delete(h.id);
      throw error;
    }
    held.forEach((h, i) => {
      const code = Number(codes[i]);
      if (code === 1) {
        this.finish(h.id, h.record, 'ack');
        return;
      }
      if (code === 2) {
        this.possibleDuplicates++;
        this.emit({ type: 'possible_duplicate', botId: this.options.botId, inboundId: h.record.slice(2), kind: h.message.kind });
      }
      const prev = this.chains.get(h.sessionId) ?? Promise.resolve();
      const next = prev.then(() => this.send(h));
      this.chains.set(h.sessionId, next);
      void next.finally(() => {
        if (this.chains.get(h.sessionId) === next) this.chains.delete(h.sessionId);
      });
    });
  }

  private async send(h: Held): Promise<void> {
    const { delivery } = this.options;
    // Closing: start nothing new; close() hands it to another process.
    if (!this.running) return;
    h.started = true;
    for (let attempt = 1; ; attempt++) {
      try {
        if (h.message.kind === 'final') await delivery.final(h.message.result);
        else await delivery.failed(h.message.request, h.message.message, failureOf(h.message));
        this.delivered++;
        this.finish(h.id, h.record, 'sent');
        return;
      } catch (error) {
        const willRetry = attempt < this.o.sendAttempts && this.running;
        this.emit({ type: 'send_failed', botId: this.options.botId, inboundId: h.record.slice(2), error, willRetry });
        if (willRetry) {
          await sleep(backoffDelayMs(attempt - 1, this.o.sendRetryBaseMs));
          continue;
        }
        // Shutting down: leave it pending for another process. Otherwise give up for good.
        if (!this.running) return;
        this.finish(h.id, h.record, 'drop');
        return;
      }
    }
  }

  /** Queue an acknowledgement; one finishSend script per tick covers every send that completed in it. */
  private finish(id: string, record: string, outcome: 'sent' | 'ack' | 'drop'): void {
    this.finishing.push([id, record, outcome]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush().catch((error) => this.emit({ type: 'error', botId: this.options.botId, error }));
    });
  }

  private async flush(): Promise<void> {
    const batch = this.finishing.splice(0);
    if (batch.length === 0) return;
    try {
      await finishScript.run(this.options.client, [this.keys.stream, this.keys.sent], [
        OUTBOX_DEFAULTS.group, Date.now(), OUTBOX_DEFAULTS.sentRetentionMs, OUTBOX_DEFAULTS.sentMax, ...batch.flat(),
      ]);
    } catch (error) {
      // Redis unreachable: the sends happened, so keep the entries in hand (refreshed, never
      // claimed by another) and record them once Redis answers again.
      this.finishing.unshift(...batch);
      if (!this.closing) setTimeout(() => void this.flush().catch(() => undefined), 500).unref();
      throw error;
    }
    for (const [id] of batch) this.inHand.delete(id);
    this.wake?.();
  }

  /** On close: entries not delivered lose their begun-mark and look long idle, so any other consumer claims them now. */
  private async handBack(): Promise<void> {
    // Only entries whose send never began: one that began (still hanging, or sent but not yet
    // recorded because Redis is down) keeps its mark and is claimed after the idle time, so a
    // repeat of it is counted.
    const left = [...this.inHand.values()].filter((h) => !h.started);
    if (left.length === 0) return;
    const { client } = this.options;
    await client.zrem(this.keys.sent, ...left.map((h) => `s:${h.record}`));
    await client.xclaim(this.keys.stream, OUTBOX_DEFAULTS.group, this.consumer, 0, ...left.map((h) => h.id), 'IDLE', this.o.claimIdleMs * 10, 'JUSTID');
    this.inHand.clear();
  }
}

export function parseEntry(fields: string[]): { inboundId: string; message: OutboxMessage } | undefined {
  let inboundId: string | undefined;
  let raw: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'i') inboundId = fields[i + 1];
    else if (fields[i] === 'm') raw = fields[i + 1];
  }
  if (inboundId === undefined || raw === undefined) return undefined;
  try {
    const message = JSON.parse(raw) as OutboxMessage;
    if (message.kind === 'final' && message.result?.request) return { inboundId, message };
    if (message.kind === 'failed' && message.request) return { inboundId, message };
  } catch {
    // fall through
  }
  return undefined;
}

export function sessionOf(message: OutboxMessage): string {
  return message.kind === 'final' ? message.result.request.sessionId : message.request.sessionId;
}
