/**
 * Replies on Telegram: typing while the agent works, streamed by throttled edits, then the
 * final text.
 *
 * - Typing: `sendChatAction(typing)` when the turn is accepted and every `typingIntervalMs`
 *   (Telegram shows it ~5 s) until the reply or failure, at most `typingMaxMs`.
 * - Streaming: the first partial text is sent as a message at once; later ones edit it, each
 *   edit `editIntervalMs` after the previous call completed, never two calls at a time (one
 *   chain per reply). The preview shows the first chunk of the reply so far.
 * - Final: the first chunk replaces the preview (or is sent), the others follow as new messages.
 *   A result for a message whose reply this process already delivered (`duplicate`) is not sent
 *   twice; a duplicate this process has not delivered (e.g. after a crash) is sent.
 * - Failures are sent as plain text. A send that fails for good is logged with the chat — a
 *   reply never vanishes silently — and rethrown so the queue may retry the turn.
 */
import type { AdapterLogger } from '../../src/core/adapter.js';
import type { Delivery, TurnRequest, TurnResult } from '../../src/core/turn-queue.js';
import { TELEGRAM_DEFAULTS } from './config.js';
import { telegramMessageId } from './normalize.js';
import { renderReply, type Chunk } from './render.js';
import { describe, editChunk, sendChunk, type ReplyTarget, type SendApi } from './send.js';
import { TypingIndicator } from './typing.js';

export interface TelegramDeliveryOptions {
  api: SendApi;
  logger: AdapterLogger;
  parseMode: 'html' | 'plain';
  editIntervalMs?: number;
  typingIntervalMs?: number;
  typingMaxMs?: number;
}

interface ReplyState {
  target: ReplyTarget;
  typing: TypingIndicator;
  /** Every Bot API call of this reply runs on this chain, one at a time. */
  chain: Promise<void>;
  previewId?: number;
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

/** Where the reply to `inbound` goes. */
export function targetOf(request: TurnRequest): ReplyTarget {
  const m = request.inbound;
  const thread = m.threadId !== undefined ? Number(m.threadId) : undefined;
  const replyTo = telegramMessageId(m.messageId);
  return {
    chatId: Number.isSafeInteger(Number(m.chatId)) ? Number(m.chatId) : m.chatId,
    ...(thread !== undefined && Number.isSafeInteger(thread) ? { threadId: thread } : {}),
    // In groups the answer quotes the question, so it is clear whom it answers.
    ...(!m.isDirect && replyTo !== undefined ? { replyToMessageId: replyTo } : {}),
  };
}

export class TelegramDelivery implements Delivery {
  private readonly replies = new Map<string, ReplyState>();
  /** Replies this process delivered (a duplicate result is not sent twice). */
  private readonly delivered = new Set<string>();
  /** Replies finished here (a late `started` or `partial` must not type or preview again). */
  private readonly done = new Set<string>();
  private readonly editIntervalMs: number;
  private readonly typingIntervalMs: number;
  private readonly typingMaxMs: number;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: TelegramDeliveryOptions) {
    this.editIntervalMs = options.editIntervalMs ?? TELEGRAM_DEFAULTS.streamEditIntervalMs;
    this.typingIntervalMs = options.typingIntervalMs ?? TELEGRAM_DEFAULTS.typingIntervalMs;
    this.typingMaxMs = options.typingMaxMs ?? TELEGRAM_DEFAULTS.typingMaxMs;
  }

  /** The turn was accepted or started: show "typing…" until its reply. Safe to call repeatedly. */
  started(request: TurnRequest): void {
    if (this.done.has(keyOf(request))) return;
    this.state(request).typing.start();
  }

  partial(request: TurnRequest, textSoFar: string): void {
    if (this.done.has(keyOf(request))) return;
    const s = this.state(request);
    if (s.finished) return;
    s.latest = textSoFar;
    this.schedulePreview(s);
  }

  async final(result: TurnResult): Promise<void> {
    const key = keyOf(result.request);
    if (result.duplicate && this.delivered.has(key)) {
      this.finish(result.request);
      return;
    }
    await this.complete(result.request, renderReply(result.reply, { mode: this.options.parseMode }));
    remember(this.delivered, key);
  }

  async failed(request: TurnRequest, message: string): Promise<void> {
    await this.complete(request, renderReply(message, { mode: 'plain' }));
  }

  /** Resolves when every call started so far has settled (for a graceful stop). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async complete(request: TurnRequest, chunks: Chunk[]): Promise<void> {
    const s = this.finish(request);
    const work = s.chain.then(async () => {
      const { api, logger } = this.options;
      const all = chunks.length > 0 ? chunks : [{ text: '(empty reply)', plain: '(empty reply)' }];
      try {
        let first = true;
        for (const chunk of all) {
          if (first && s.previewId !== undefined) {
            if (chunk.text !== s.shown) await editChunk(api, s.target, s.previewId, chunk, logger);
          } else {
            await sendChunk(api, s.target, chunk, logger, first);
          }
          first = false;
        }
      } catch (err) {
        logger.error({ chat: s.target.chatId, session: request.sessionId, err: describe(err) }, 'could not deliver a reply to telegram');
        throw err;
      }
    });
    // Later calls on this reply (none expected) wait for this one but not for its failure.
    s.chain = work.catch(() => undefined);
    await this.track(work);
  }

  /**
   * One preview update at a time, each due `editIntervalMs` after the previous one *completed*
   * (so Telegram never receives two within the interval, however slow a call was); text that
   * arrived meanwhile goes out in the next update.
   */
  private schedulePreview(s: ReplyState): void {
    if (s.editTimer || s.previewBusy || s.finished) return;
    const wait = Math.max(0, s.lastEditAt + this.editIntervalMs - Date.now());
    s.editTimer = setTimeout(() => {
      s.editTimer = undefined;
      s.previewBusy = true;
      s.chain = s.chain
        .then(() => this.showPreview(s))
        .catch((err) => this.options.logger.debug({ err: describe(err) }, 'preview edit failed'))
        .finally(() => {
          s.previewBusy = false;
          if (s.latest !== s.previewedFrom) this.schedulePreview(s);
        });
      this.track(s.chain);
    }, wait);
  }

  private async showPreview(s: ReplyState): Promise<void> {
    if (s.finished || s.latest === undefined) return;
    s.previewedFrom = s.latest;
    const chunk = renderReply(s.latest, { mode: this.options.parseMode })[0];
    if (!chunk || chunk.text === s.shown) return;
    const { api, logger } = this.options;
    try {
      s.previewId = s.previewId === undefined ? await sendChunk(api, s.target, chunk, logger, true) : await editChunk(api, s.target, s.previewId, chunk, logger);
      s.shown = chunk.text;
    } finally {
      s.lastEditAt = Date.now();
    }
  }

  private state(request: TurnRequest): ReplyState {
    const key = keyOf(request);
    let s = this.replies.get(key);
    if (!s) {
      const target = targetOf(request);
      const { api } = this.options;
      const typing = new TypingIndicator(
        () => this.track(api.sendChatAction(target.chatId, 'typing', target.threadId !== undefined ? { message_thread_id: target.threadId } : {})),
        this.typingIntervalMs,
        this.typingMaxMs,
      );
      s = { target, typing, chain: Promise.resolve(), lastEditAt: 0, previewBusy: false, finished: false };
      this.replies.set(key, s);
      // Bounded: a reply whose result never arrives (lost in transit) is forgotten eventually.
      if (this.replies.size > TELEGRAM_DEFAULTS.deliveredMemory) {
        const [oldKey, old] = this.replies.entries().next().value!;
        old.typing.stop();
        clearTimeout(old.editTimer);
        this.replies.delete(oldKey);
      }
    }
    return s;
  }

  private finish(request: TurnRequest): ReplyState {
    const s = this.state(request);
    s.finished = true;
    clearTimeout(s.editTimer);
    s.editTimer = undefined;
    s.typing.stop();
    this.replies.delete(keyOf(request));
    remember(this.done, keyOf(request));
    return s;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }
}

const keyOf = (r: TurnRequest) => `${r.inbound.botId}|${r.inbound.messageId}`;

/** A bounded set: the oldest key goes when it is full. */
function remember(set: Set<string>, key: string): void {
  set.delete(key);
  set.add(key);
  if (set.size > TELEGRAM_DEFAULTS.deliveredMemory) set.delete(set.values().next().value!);
}
