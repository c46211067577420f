/**
 * One session's live side in this gateway process: the clients attached to it, the ids of its
 * turns in flight, and `flush()`, which reads the durable log after the lowest cursor any ready
 * client has and sends each client what it has not seen. The log is the event stream: live
 * frames, replay and resync all come from it, so a client can never see an event the log does
 * not hold, nor miss one it does.
 */
import type { SessionLog } from '../core/session-store.js';
import { toEvents } from './events.js';
import type { ServerFrame } from './frames.js';

/** What the hub needs of a connection. */
export interface HubClient {
  /** Highest cursor sent; the client has every event up to it. */
  lastSent: number;
  /** False while its join replay is running: live flushes skip it until then. */
  ready: boolean;
  /** Wants `stream` frames. */
  stream: boolean;
  /** reply_to → characters of the reply already streamed to it. */
  readonly streamed: Map<string, number>;
  send(frame: ServerFrame): void;
}

export class SessionHub {
  readonly clients = new Set<HubClient>();
  /** Client ids of turns accepted and not yet answered (as far as this process knows). */
  readonly inFlight = new Set<string>();
  private flushing: Promise<void> | null = null;
  private again = false;

  constructor(
    readonly key: string,
    readonly sessionId: string,
    readonly agent: string,
    private readonly store: SessionLog,
    private readonly maxMessages: number,
  ) {}

  broadcast(frame: ServerFrame): void {
    for (const c of this.clients) if (c.ready) c.send(frame);
  }

  /** A streamed reply grew: send each streaming client the part it has not had. */
  stream(replyTo: string | undefined, textSoFar: string): void {
    const k = replyTo ?? '';
    for (const c of this.clients) {
      if (!c.ready || !c.stream) continue;
      const offset = c.streamed.get(k) ?? 0;
      if (textSoFar.length <= offset) continue;
      c.streamed.set(k, textSoFar.length);
      c.send({ type: 'stream', ...(replyTo ? { reply_to: replyTo } : {}), offset, delta: textSoFar.slice(offset) });
    }
  }

  /** Send every ready client the log entries after its cursor. Calls made during a flush coalesce into one more. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.again = false;
        await this.flushOnce();
      } while (this.again);
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const ready = [...this.clients].filter((c) => c.ready);
    if (ready.length === 0) return;
    const after = Math.min(...ready.map((c) => c.lastSent));
    const entries = await this.store.getEntries(this.key, { after });
    if (entries.length === 0) return;
    const events = toEvents(entries);
    for (const c of ready) {
      if (!this.clients.has(c)) continue;
      const start = events.findIndex((e) => e.cursor > c.lastSent);
      if (start < 0) continue;
      if (events[start]!.cursor > c.lastSent + 1) {
        // Entries this client never saw are gone (trimmed past max_messages, or cleared): say so.
        await this.resync(c, 'retention');
        continue;
      }
      for (const e of events.slice(start)) {
        if (e.type === 'response' && c.streamed.has(e.reply_to ?? '')) {
          c.streamed.delete(e.reply_to ?? '');
          c.send({ type: 'stream_end', ...(e.reply_to ? { reply_to: e.reply_to } : {}), cursor: e.cursor });
        }
        c.send(e);
        c.lastSent = e.cursor;
      }
    }
  }

  /** Replace a client's view: the newest `max_messages` events and the cursor to continue from. */
  async resync(c: HubClient, reason: 'retention' | 'cleared' | 'not_found'): Promise<void> {
    const [entries, info] = await Promise.all([this.store.getEntries(this.key), this.store.getSession(this.key)]);
    const kept = entries.slice(-this.maxMessages);
    const cursor = Math.max(info?.lastCursor ?? 0, kept.at(-1)?.cursor ?? 0, c.lastSent);
    c.streamed.clear();
    c.send({ type: 'resync', reason, cursor, snapshot: toEvents(kept) });
    c.lastSent = cursor;
  }
}
