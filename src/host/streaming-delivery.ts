/**
 * The host's reply policy for every platform adapter, over the adapter's basic `Outbound` calls:
 *
 * - Typing: `typing(address)` when the turn is accepted and every `typingIntervalMs` until the
 *   reply or failure, at most `typingMaxMs`; then `idle(address)` where the platform has it.
 * - Streaming (platforms with edits): the first partial text is posted at once; later ones edit
 *   it, each edit at least `editIntervalMs` after the previous call of this reply completed and,
 *   where the platform limits edits per scope (Slack: per workspace), after the scope's last
 *   edit — never two calls of one reply at a time (one chain per reply). The preview shows the
 *   first chunk of the reply so far. Platforms without edits get only the final reply.
 * - Final: the first chunk replaces the preview (or is posted), the others follow as new
 *   messages. A result for a message whose reply this process already delivered (`duplicate`) is
 *   not sent twice; a duplicate this process has not delivered (e.g. after a crash) is sent.
 * - Formatting rejected by the platform (FormattingRejectedError): the chunk's plain text is
 *   sent instead. Failures and command answers are sent as plain text.
 * - A send that fails for good is logged with the bot and session — a reply never vanishes
 *   silently — and rethrown, so the queue may retry the turn (the commit's dedupe makes that safe).
 * - Several processes (distributed mode): only the process that ingested a message shows its
 *   typing and streams its preview; `started`/`partial` for other messages are ignored. The
 *   final may be delivered by any of them; the one that delivers it `announce`s it, and the one
 *   that streamed the preview stops (`deliveredElsewhere`) and deletes its preview when the final
 *   went out as another message, or brings it up to date when the final completed it.
 */
import type { AdapterCapabilities, AdapterLogger, Outbound, OutboundChunk } from '../core/adapter.js';
import type { DeliveredFirst, Delivery, TurnRequest, TurnResult } from '../core/turn-queue.js';
import { TypingIndicator } from './typing-indicator.js';

export const STREAMING_DEFAULTS = Object.freeze({
  /** Typing stops after this even if no reply came (a lost result must not type forever). */
  typingMaxMs: 10 * 60_000,
  /** Replies remembered as delivered (a duplicate result is not sent twice) and in-progress replies kept. */
  memory: 10_000,
});

export interface StreamingDeliveryOptions {
  outbound: Outbound;
  capabilities: Pick<AdapterCapabilities, 'edits' | 'typing' | 'editIntervalMs' | 'typingIntervalMs' | 'scopeEditIntervalMs'>;
  logger: AdapterLogger;
  typingMaxMs?: number;
  /** Told of every send call's outcome (metrics): sent, sent as plain text after a formatting refusal, or failed. */
  onSend?: (outcome: 'ok' | 'plain_fallback' | 'failed') => void;
  /** Told of every reply delivered here (distributed mode tells the other processes). */
  announce?: (request: TurnRequest, first: DeliveredFirst) => void;
  /** Told once a reply's send calls settled (metrics: the `delivery` stage). */
  onDelivered?: (result: TurnResult) => void;
}

interface ReplyState {
  key: string;
  address: string;
  typing?: TypingIndicator;
  /** Every platform call of this reply runs on this chain, one at a time. */
  chain: Promise<void>;
  previewId?: string;
  shown?: string;
  latest?: string;
  /** The text the last preview was rendered from. */
  previewedFrom?: string;
  /** When the last preview call completed. */
  lastEditAt: number;
  editTimer?: NodeJS.Timeout;
  previewBusy: boolean;
  finished: boolean;
}

const EMPTY: OutboundChunk = { text: '(empty reply)', plain: '(empty reply)', formatted: false };

export class StreamingDelivery implements Delivery {
  private readonly replies = new Map<string, ReplyState>();
  /** Replies this process delivered (a duplicate result is not sent twice). */
  private readonly delivered = new Set<string>();
  /** Replies finished here (a late `started` or `partial` must not type or preview again). */
  private readonly done = new Set<string>();
  /** When the next edit may go out, per edit scope. */
  private readonly scopeNextEditAt = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly streams: boolean;

  constructor(private readonly options: StreamingDeliveryOptions) {
    this.streams = options.capabilities.edits && options.outbound.edit !== undefined;
  }

  /** This process accepted the message: it shows "typing…" and streams the reply. */
  ingested(request: TurnRequest): void {
    this.state(request, true)?.typing?.start();
  }

  /** The turn started running: renews "typing…" of a message ingested here. Safe to call repeatedly. */
  started(request: TurnRequest): void {
    this.state(request)?.typing?.start();
  }

  partial(request: TurnRequest, textSoFar: string): void {
    if (!this.streams) return;
    const s = this.state(request);
    if (!s || s.finished) return;
    s.latest = textSoFar;
    this.schedulePreview(s);
  }

  async final(result: TurnResult): Promise<void> {
    const key = keyOf(result.request);
    if (result.duplicate && this.delivered.has(key)) {
      this.finish(result.request);
      return;
    }
    await this.complete(result.request, this.options.outbound.render(result.reply, 'markdown'), key);
    remember(this.delivered, key);
    this.options.onDelivered?.(result);
  }

  async failed(request: TurnRequest, message: string): Promise<void> {
    await this.complete(request, this.options.outbound.render(message, 'plain'), keyOf(request));
  }

  deliveredElsewhere(request: TurnRequest, first: DeliveredFirst): void {
    const key = keyOf(request);
    const s = this.replies.get(key);
    if (!s) return; // not streamed here (or delivered here: this is our own announcement)
    this.finish(request);
    const { outbound, logger } = this.options;
    const work = s.chain.then(async () => {
      if (s.typing) await outbound.idle?.(s.address).catch(() => undefined);
      if (s.previewId === undefined) return;
      if (s.previewId !== first.messageId && outbound.remove) await outbound.remove(s.address, s.previewId);
      else if (s.shown !== first.chunk.text) await this.editChunk(s.address, s.previewId, first.chunk);
    });
    s.chain = work.catch((err) => logger.warn({ bot: request.inbound.botId, err: errorText(err) }, 'could not tidy up a streamed preview another process completed'));
    void this.track(s.chain);
  }

  /**
   * A direct answer to an inbound message (a command's reply, a refusal): plain text, not part of
   * any turn, sent in the background (a platform acknowledgement never waits for it).
   */
  notice(address: string, text: string, key: string): Promise<void> {
    const { outbound, logger } = this.options;
    const work = (async () => {
      let index = 0;
      for (const chunk of outbound.render(text, 'plain')) await this.sendChunk(address, chunk, `${key}|n`, index++);
    })().catch((err) => logger.warn({ err: errorText(err) }, 'could not send a command answer'));
    return this.track(work);
  }

  /** Resolves when every call started so far has settled (for a graceful stop). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async complete(request: TurnRequest, chunks: OutboundChunk[], key: string): Promise<void> {
    const s = this.finish(request);
    if (!s) {
      this.options.logger.error({ bot: request.inbound.botId, session: request.sessionId }, 'reply has no address to go to; dropped');
      return;
    }
    const work = s.chain.then(async () => {
      const all = chunks.length > 0 ? chunks : [EMPTY];
      let firstId: string | undefined;
      try {
        for (const [index, chunk] of all.entries()) {
          if (index === 0 && s.previewId !== undefined) {
            firstId = chunk.text !== s.shown ? await this.editChunk(s.address, s.previewId, chunk) : s.previewId;
          } else {
            const id = await this.sendChunk(s.address, chunk, key, index);
            if (index === 0) firstId = id;
          }
        }
        this.options.announce?.(request, { ...(firstId !== undefined ? { messageId: firstId } : {}), chunk: all[0]! });
        if (this.options.outbound.idle) await this.options.outbound.idle(s.address).catch(() => undefined);
      } catch (err) {
        this.options.logger.error({ bot: request.inbound.botId, session: request.sessionId, err: errorText(err) }, 'could not deliver a reply');
        throw err;
      }
    });
    // Later calls on this reply (none expected) wait for this one but not for its failure.
    s.chain = work.catch(() => undefined);
    await this.track(work);
  }

  private async sendChunk(address: string, chunk: OutboundChunk, key: string, index: number, preview = false): Promise<string | undefined> {
    const { outbound, logger } = this.options;
    const options = { idempotencyKey: `${key}|${index}`, index, ...(preview ? { preview } : {}) };
    const { onSend } = this.options;
    try {
      const id = await outbound.send(address, chunk, options);
      onSend?.('ok');
      return id;
    } catch (err) {
      if (!isFormattingRejected(err) || !chunk.formatted) {
        onSend?.('failed');
        throw err;
      }
      logger.warn({ err: errorText(err) }, 'the platform rejected the formatting; sending the reply as plain text');
      try {
        const id = await outbound.send(address, { text: chunk.plain, plain: chunk.plain, formatted: false }, { ...options, idempotencyKey: `${options.idempotencyKey}|plain` });
        onSend?.('plain_fallback');
        return id;
      } catch (plainErr) {
        onSend?.('failed');
        throw plainErr;
      }
    }
  }

  private async editChunk(address: string, messageId: string, chunk: OutboundChunk): Promise<string | undefined> {
    const { outbound, logger } = this.options;
    try {
      return await outbound.edit!(address, messageId, chunk);
    } catch (err) {
      if (!isFormattingRejected(err) || !chunk.formatted) throw err;
      logger.warn({ err: errorText(err) }, 'the platform rejected the formatting; showing the reply as plain text');
      return outbound.edit!(address, messageId, { text: chunk.plain, plain: chunk.plain, formatted: false });
    }
  }

  /**
   * One preview update at a time, each due `editIntervalMs` after the previous one *completed*
   * (so the platform never receives two within the interval, however slow a call was) and not
   * before the scope's next slot; text that arrived meanwhile goes out in the next update.
   */
  private schedulePreview(s: ReplyState): void {
    if (s.editTimer || s.previewBusy || s.finished) return;
    const now = Date.now();
    const at = this.reserveSlot(this.scopeOf(s.address), Math.max(now, s.lastEditAt + this.options.capabilities.editIntervalMs));
    s.editTimer = setTimeout(() => {
      s.editTimer = undefined;
      s.previewBusy = true;
      s.chain = s.chain
        .then(() => this.showPreview(s))
        .catch((err) => this.options.logger.debug({ err: errorText(err) }, 'preview edit failed'))
        .finally(() => {
          s.previewBusy = false;
          if (s.latest !== s.previewedFrom) this.schedulePreview(s);
        });
      void this.track(s.chain);
    }, at - now);
  }

  private scopeOf(address: string): string {
    return this.options.outbound.editScope?.(address) ?? '';
  }

  /** The first time at or after `earliest` that the scope allows an edit; that slot is taken. */
  private reserveSlot(scope: string, earliest: number): number {
    const gap = this.options.capabilities.scopeEditIntervalMs;
    if (!gap) return earliest;
    const at = Math.max(earliest, this.scopeNextEditAt.get(scope) ?? 0);
    this.scopeNextEditAt.delete(scope);
    this.scopeNextEditAt.set(scope, at + gap);
    if (this.scopeNextEditAt.size > STREAMING_DEFAULTS.memory) this.scopeNextEditAt.delete(this.scopeNextEditAt.keys().next().value!);
    return at;
  }

  private async showPreview(s: ReplyState): Promise<void> {
    if (s.finished || s.latest === undefined) return;
    s.previewedFrom = s.latest;
    const chunk = this.options.outbound.render(s.latest, 'markdown')[0];
    if (!chunk || chunk.text === s.shown) return;
    try {
      s.previewId = s.previewId === undefined ? await this.sendChunk(s.address, chunk, `${s.key}|preview`, 0, true) : await this.editChunk(s.address, s.previewId, chunk);
      s.shown = chunk.text;
    } finally {
      s.lastEditAt = Date.now();
    }
  }

  /**
   * The reply's state; undefined once finished here, when the message has no address, or — unless
   * `create` — when the message was not ingested here.
   */
  private state(request: TurnRequest, create = false): ReplyState | undefined {
    const key = keyOf(request);
    if (this.done.has(key)) return undefined;
    let s = this.replies.get(key);
    const address = request.inbound.address;
    if (!s && create && address !== undefined) {
      s = { key, address, chain: Promise.resolve(), lastEditAt: 0, previewBusy: false, finished: false };
      const { outbound, capabilities } = this.options;
      if (capabilities.typing && outbound.typing) {
        s.typing = new TypingIndicator(() => this.track(outbound.typing!(address)), capabilities.typingIntervalMs, this.options.typingMaxMs ?? STREAMING_DEFAULTS.typingMaxMs);
      }
      this.replies.set(key, s);
      // Bounded: a reply whose result never arrives (lost in transit) is forgotten eventually.
      if (this.replies.size > STREAMING_DEFAULTS.memory) {
        const [oldKey, old] = this.replies.entries().next().value!;
        old.typing?.stop();
        clearTimeout(old.editTimer);
        this.replies.delete(oldKey);
      }
    }
    return s;
  }

  private finish(request: TurnRequest): ReplyState | undefined {
    const key = keyOf(request);
    const s = this.state(request);
    this.replies.delete(key);
    remember(this.done, key);
    // Finished before (a failure after a final): a fresh state, so the message still goes out.
    if (!s) return request.inbound.address !== undefined ? { key, address: request.inbound.address, chain: Promise.resolve(), lastEditAt: 0, previewBusy: false, finished: true } : undefined;
    s.finished = true;
    clearTimeout(s.editTimer);
    s.editTimer = undefined;
    s.typing?.stop();
    return s;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }
}

const keyOf = (r: TurnRequest) => `${r.inbound.botId}|${r.inbound.messageId}`;

function isFormattingRejected(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'FORMAT_REJECTED';
}

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** A bounded set: the oldest key goes when it is full. */
function remember(set: Set<string>, key: string): void {
  set.delete(key);
  set.add(key);
  if (set.size > STREAMING_DEFAULTS.memory) set.delete(set.values().next().value!);
}
