/**
 * Broadcast delivery: a route registered with `{ broadcast: true }` sees every result of its
 * bot on every process (no consumer group, no acknowledgements). For routes whose delivery is
 * a notice each process acts on by itself — the web gateway pushes session-log events to the
 * clients connected to it; `bot chat` waits for the reply to its own message.
 *
 * Each reader follows the bot's outbox stream from the entry that was newest when it started,
 * and resumes from the last entry it saw after a Redis reconnect, so nothing added while the
 * connection was down is missed. Nobody acknowledges these entries: every reader trims the
 * stream to the last `retentionMs` (and the workers cap its length).
 */
import type { Redis } from 'ioredis';
import type { Delivery } from '../core/turn-queue.js';
import { outboxKeys, type OutboxKeys } from './inbox-keys.js';
import { failureOf, parseEntry, sessionOf } from './outbox-consumer.js';

export const BROADCAST_DEFAULTS = Object.freeze({
  blockMs: 2_000,
  batch: 256,
  /** Entries older than this are trimmed from a broadcast bot's stream. */
  retentionMs: 10 * 60_000,
  trimEveryMs: 60_000,
});

type Entry = [id: string, fields: string[]];

export interface OutboxBroadcastOptions {
  client: Redis;
  prefix: string;
  botId: string;
  delivery: Delivery;
  onError?: (error: unknown) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class OutboxBroadcastReader {
  private readonly keys: OutboxKeys;
  private readonly blocking: Redis;
  private lastId = '0-0';
  private running = false;
  private loop: Promise<void> | undefined;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private lastTrim = 0;
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: OutboxBroadcastOptions) {
    this.keys = outboxKeys(options.prefix, options.botId);
    this.blocking = options.client.duplicate({ enableAutoPipelining: false });
    this.blocking.on('error', () => undefined);
  }

  /** Resolves once the reader knows where "now" is: every entry added after that is seen. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const newest = (await this.options.client.xrevrange(this.keys.stream, '+', '-', 'COUNT', 1)) as Entry[];
      this.lastId = newest[0]?.[0] ?? '0-0';
      this.running = true;
      this.loop = this.read();
    })();
    return this.started;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.running = false;
      this.blocking.disconnect();
      await this.loop?.catch(() => undefined);
    })();
    return this.closing;
  }

  private async read(): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.blocking.xread('COUNT', BROADCAST_DEFAULTS.batch, 'BLOCK', BROADCAST_DEFAULTS.blockMs, 'STREAMS', this.keys.stream, this.lastId)) as
          | Array<[string, Entry[]]>
          | null;
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          this.lastId = id;
          this.dispatch(fields);
        }
        await this.maybeTrim();
      } catch (error) {
        if (!this.running) return;
        this.options.onError?.(error);
        await sleep(500);
      }
    }
  }

  private dispatch(fields: string[]): void {
    const parsed = parseEntry(fields);
    if (!parsed) return;
    const { delivery } = this.options;
    const { message } = parsed;
    const session = sessionOf(message);
    const prev = this.chains.get(session) ?? Promise.resolve();
    const next = prev
      .then(() => (message.kind === 'final' ? delivery.final(message.result) : delivery.failed(message.request, message.message, failureOf(message))))
      .catch((error: unknown) => this.options.onError?.(error));
    this.chains.set(session, next);
    void next.finally(() => {
      if (this.chains.get(session) === next) this.chains.delete(session);
    });
  }

  private async maybeTrim(): Promise<void> {
    const now = Date.now();
    if (now - this.lastTrim < BROADCAST_DEFAULTS.trimEveryMs) return;
    this.lastTrim = now;
    await this.options.client.xtrim(this.keys.stream, 'MINID', '~', `${now - BROADCAST_DEFAULTS.retentionMs}-0`);
  }
}
