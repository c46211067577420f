/**
 * The Slack `Outbound`: chat.postMessage / chat.update for replies, the :eyes: reaction as the
 * working status, `response_url` for slash-command answers.
 *
 * Exactly-once posting: every post carries message metadata naming its idempotency key, the
 * inbound message it answers and its chunk index. The channel (or thread) is searched for such a
 * post before posting when
 * - a post's outcome is unknown (timeout, network failure): at once, and before the next attempt
 *   for that key — so a post that Slack took but whose answer was lost appears once;
 * - the inbound message is `suspect`: a Slack retry this process had not seen, so another process
 *   (or this one before a restart) may have answered it. A search that fails posts anyway: at
 *   worst a duplicate, never a lost reply. Such a reply is not streamed from here (its previews
 *   are skipped): the process that saw the message first streams it, and whichever process
 *   delivers the final reply finds that post and brings it up to date.
 */
import type { AdapterLogger, OutboundChunk, Outbound, SendOptions } from '../../src/core/adapter.js';
import { FormattingRejectedError } from '../../src/core/adapter.js';
import { decodeAddress, encodeAddress as encodeAddressOf, type SlackAddress } from './address.js';
import { decisionOf, describeSlackError } from './api-errors.js';
import { renderSlack } from './render.js';
import type { SlackApi } from './web-api.js';

/** The metadata event type of the adapter's own posts. */
export const REPLY_EVENT_TYPE = 'bothost_reply';

export interface SlackOutboundOptions {
  api: SlackApi;
  logger: AdapterLogger;
  statusEmoji: string;
  maxMessageLength: number;
  /** Told about every thread the bot posted in (follow-ups there need no mention). */
  onPostedInThread?: (channel: string, threadTs: string) => void;
  /** POSTs a JSON body to a slash command's response_url. */
  postResponse?: (url: string, body: Record<string, unknown>) => Promise<void>;
  /** How far back a lost post is searched for (seconds). Default 15 min. */
  lookbackSeconds?: number;
}

interface PostResult {
  ts?: string;
}

interface HistoryMessage {
  ts?: string;
  text?: string;
  metadata?: { event_type?: string; event_payload?: { key?: unknown; message?: unknown; index?: unknown } };
}

/** What identifies a post: its idempotency key, or the inbound message and chunk index it answers. */
interface PostIdentity {
  key: string;
  message?: string;
  index: number;
}

/** Bounded insertion-ordered set. */
class RecentSet {
  private readonly items = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(k: string) {
    return this.items.has(k);
  }
  add(k: string) {
    this.items.add(k);
    if (this.items.size > this.capacity) this.items.delete(this.items.values().next().value!);
  }
  delete(k: string) {
    this.items.delete(k);
  }
}

export async function postJson(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
  await res.arrayBuffer();
}

export class SlackOutbound implements Outbound {
  /** Keys whose last post had an unknown outcome: look before posting again. */
  private readonly unsure = new RecentSet(10_000);
  /** Messages that already carry the status reaction (renewals cost nothing). */
  private readonly reacted = new RecentSet(10_000);
  /** Status reactions being added: `idle` waits for them, so a removal never overtakes its add. */
  private readonly adding = new Map<string, Promise<void>>();
  /** Inbound messages another process may have answered already. */
  private readonly suspects = new RecentSet(10_000);
  /** Inbound messages this process ingested (it streams their previews, if anyone does). */
  private readonly ingested = new RecentSet(100_000);

  constructor(private readonly o: SlackOutboundOptions) {}

  render(text: string, mode: 'markdown' | 'plain'): OutboundChunk[] {
    return renderSlack(text, mode, this.o.maxMessageLength);
  }

  editScope(address: string): string {
    return decodeAddress(address).team;
  }

  /** The reply to inbound message `messageId` (`<channel>:<ts>`) may exist already: look first. */
  suspect(messageId: string): void {
    this.suspects.add(messageId);
  }

  /**
   * This process ingested `messageId`. A final reply to a message it did not ingest (another
   * ingress took it, or this process restarted) is looked for first: the ingress that took it
   * may have posted a streamed preview, which the final then completes instead of a second post.
   */
  ingestedHere(messageId: string): void {
    this.ingested.add(messageId);
  }

  async send(address: string, chunk: OutboundChunk, options: SendOptions): Promise<string | undefined> {
    const a = decodeAddress(address);
    if (a.responseUrl) return this.respond(a, chunk);
    const message = a.messageTs ? `${a.channel}:${a.messageTs}` : undefined;
    const preview = options.preview === true;
    const suspect = message !== undefined && (this.suspects.has(message) || (!this.ingested.has(message) && !preview));
    if (suspect && preview) return undefined;
    const id: PostIdentity = { key: options.idempotencyKey, index: options.index, ...(message ? { message } : {}) };
    if (this.unsure.has(id.key) || suspect) {
      const found = await this.findPosted(a, id).catch((err: unknown) => {
        this.o.logger.warn({ channel: a.channel, error: describeSlackError(err) }, 'could not check whether a reply was posted already; posting it');
        return undefined;
      });
      if (found) {
        this.o.logger.info({ channel: a.channel }, 'this reply was posted already (by another process or a lost answer); not posting it again');
        return this.posted(a, id.key, await this.complete(a, found, chunk));
      }
    }
    try {
      const res = await this.o.api.call<PostResult>('chat.postMessage', {
        channel: a.channel,
        ...(a.threadTs ? { thread_ts: a.threadTs } : {}),
        text: chunk.text,
        mrkdwn: chunk.formatted,
        unfurl_links: false,
        unfurl_media: false,
        metadata: { event_type: REPLY_EVENT_TYPE, event_payload: { key: id.key, index: id.index, ...(message ? { message } : {}) } },
      });
      return this.posted(a, options.idempotencyKey, res.ts);
    } catch (err) {
      const decision = decisionOf(err);
      if (decision === 'ambiguous') {
        this.unsure.add(id.key);
        const found = await this.findPosted(a, id).catch(() => undefined);
        if (found) {
          this.o.logger.info({ channel: a.channel }, 'a slack post whose answer was lost had gone through; not posting it again');
          return this.posted(a, options.idempotencyKey, await this.complete(a, found, chunk));
        }
      }
      return this.settle(err, decision, a, 'reply');
    }
  }

  async edit(address: string, messageId: string, chunk: OutboundChunk): Promise<string | undefined> {
    const a = decodeAddress(address);
    if (a.responseUrl) return messageId; // slash-command answers are not streamed
    try {
      await this.o.api.call('chat.update', { channel: a.channel, ts: messageId, text: chunk.text, mrkdwn: chunk.formatted });
      return messageId;
    } catch (err) {
      const decision = decisionOf(err);
      if (decision === 'send_new') {
        const res = await this.o.api.call<PostResult>('chat.postMessage', { channel: a.channel, ...(a.threadTs ? { thread_ts: a.threadTs } : {}), text: chunk.text, mrkdwn: chunk.formatted });
        return res.ts;
      }
      return this.settle(err, decision, a, 'edit');
    }
  }

  /** Deletes a preview another process's final reply made redundant. */
  async remove(address: string, messageId: string): Promise<void> {
    const a = decodeAddress(address);
    if (a.responseUrl) return;
    try {
      await this.o.api.call('chat.delete', { channel: a.channel, ts: messageId });
    } catch (err) {
      const decision = decisionOf(err);
      if (decision === 'fatal') throw err;
      // Already gone (send_new: message_not_found) is what was wanted.
      if (decision !== 'ignore' && decision !== 'send_new') this.o.logger.warn({ channel: a.channel, error: describeSlackError(err) }, 'could not delete a redundant preview');
    }
  }

  /** The working status: one reaction on the message (renewals are free, it stays until `idle`). */
  async typing(address: string): Promise<void> {
    const a = decodeAddress(address);
    if (!a.messageTs || a.responseUrl) return;
    const key = `${a.channel}:${a.messageTs}`;
    if (this.reacted.has(key)) return;
    this.reacted.add(key);
    const adding = this.reaction('reactions.add', a, this.o.statusEmoji).finally(() => this.adding.delete(key));
    this.adding.set(key, adding);
    await adding;
  }

  /** Removes the status; also for a suspect message, whose status another process may have shown. */
  async idle(address: string): Promise<void> {
    const a = decodeAddress(address);
    if (!a.messageTs || a.responseUrl) return;
    const key = `${a.channel}:${a.messageTs}`;
    if (!this.reacted.has(key) && !this.suspects.has(key)) return;
    this.reacted.delete(key);
    await this.adding.get(key)?.catch(() => undefined);
    await this.reaction('reactions.remove', a, this.o.statusEmoji);
  }

  async react(address: string, emoji: string): Promise<void> {
    const a = decodeAddress(address);
    if (a.messageTs) await this.reaction('reactions.add', a, emoji.replace(/:/g, ''));
  }

  private async reaction(method: 'reactions.add' | 'reactions.remove', a: SlackAddress, name: string): Promise<void> {
    try {
      await this.o.api.call(method, { channel: a.channel, timestamp: a.messageTs, name }, { waitOnRateLimit: false });
    } catch (err) {
      const decision = decisionOf(err);
      if (decision === 'fatal') throw err;
      // A status that could not be shown is cosmetic; the reply itself still goes out.
      if (decision !== 'ignore') this.o.logger.warn({ channel: a.channel, error: describeSlackError(err) }, `${method} failed`);
    }
  }

  private async respond(a: SlackAddress, chunk: OutboundChunk): Promise<string | undefined> {
    const post = this.o.postResponse ?? postJson;
    await post(a.responseUrl!, { response_type: 'ephemeral', replace_original: false, text: chunk.text, mrkdwn: chunk.formatted });
    return undefined;
  }

  private posted(a: SlackAddress, key: string, ts: string | undefined): string | undefined {
    this.unsure.delete(key);
    if (a.threadTs) this.o.onPostedInThread?.(a.channel, a.threadTs);
    return ts;
  }

  /**
   * A post found by `findPosted` shows this chunk: another process may have left it at a streamed
   * preview, so it is brought up to date.
   */
  private async complete(a: SlackAddress, found: HistoryMessage, chunk: OutboundChunk): Promise<string | undefined> {
    if (found.text === chunk.text) return found.ts;
    return this.edit(encodeAddressOf(a), found.ts!, chunk);
  }

  /** The post of this bot with that identity, if Slack has one. */
  private async findPosted(a: SlackAddress, id: PostIdentity): Promise<HistoryMessage | undefined> {
    const oldest = String(Math.floor(Date.now() / 1000) - (this.o.lookbackSeconds ?? 900));
    const res = await this.o.api.call<{ messages?: HistoryMessage[] }>(a.threadTs ? 'conversations.replies' : 'conversations.history', {
      channel: a.channel,
      ...(a.threadTs ? { ts: a.threadTs } : {}),
      oldest,
      limit: 200,
      include_all_metadata: true,
    }, { waitOnRateLimit: false });
    return res.messages?.find((m) => {
      const p = m.metadata?.event_type === REPLY_EVENT_TYPE ? m.metadata.event_payload : undefined;
      return m.ts !== undefined && p !== undefined && (p.key === id.key || (id.message !== undefined && p.message === id.message && p.index === id.index));
    });
  }

  private settle(err: unknown, decision: ReturnType<typeof decisionOf>, a: SlackAddress, what: string): undefined {
    if (decision === 'format_rejected') throw new FormattingRejectedError(`slack refused the ${what}'s formatting (${describeSlackError(err)})`, { cause: err });
    if (decision === 'drop') {
      this.o.logger.warn({ channel: a.channel, error: describeSlackError(err) }, `${what} dropped: slack refuses messages to this channel`);
      return undefined;
    }
    throw err;
  }
}
