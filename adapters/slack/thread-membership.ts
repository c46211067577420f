/**
 * "Is the bot part of this thread?" — a follow-up in a thread the bot answered in is addressed
 * to the bot without a mention. Known from this process's own posts (recorded by the outbound),
 * else asked of Slack once (conversations.replies: did the bot post there?). A yes is remembered
 * (bounded), a no only briefly, since the bot may answer there from another process.
 */
import type { AdapterLogger } from '../../src/core/adapter.js';
import { describeSlackError } from './api-errors.js';
import type { SlackApi } from './web-api.js';

interface ReplyMessage {
  user?: string;
  bot_id?: string;
}

export interface ThreadMembershipOptions {
  api: SlackApi;
  logger: AdapterLogger;
  capacity: number;
  negativeTtlMs: number;
  /** The bot's identity, known after auth.test. */
  self(): { userId: string; botId?: string };
}

export class ThreadMembership {
  private readonly known = new Set<string>();
  private readonly notMember = new Map<string, number>();

  constructor(private readonly o: ThreadMembershipOptions) {}

  record(channel: string, threadTs: string): void {
    const key = `${channel}:${threadTs}`;
    this.notMember.delete(key);
    if (this.known.has(key)) return;
    this.known.add(key);
    if (this.known.size > this.o.capacity) this.known.delete(this.known.values().next().value!);
  }

  async has(channel: string, threadTs: string): Promise<boolean> {
    const key = `${channel}:${threadTs}`;
    if (this.known.has(key)) return true;
    const until = this.notMember.get(key);
    if (until !== undefined && until > Date.now()) return false;
    const self = this.o.self();
    try {
      const res = await this.o.api.call<{ messages?: ReplyMessage[] }>('conversations.replies', { channel, ts: threadTs, limit: 200 });
      if (res.messages?.some((m) => m.user === self.userId || (self.botId !== undefined && m.bot_id === self.botId))) {
        this.record(channel, threadTs);
        return true;
      }
    } catch (err) {
      this.o.logger.warn({ channel, error: describeSlackError(err) }, 'could not read a thread to see whether the bot is part of it');
      return false;
    }
    this.notMember.set(key, Date.now() + this.o.negativeTtlMs);
    if (this.notMember.size > this.o.capacity) this.notMember.delete(this.notMember.keys().next().value!);
    return false;
  }
}
