/**
 * The session reset step: idle and daily policies decided from the store's stored activity
 * time, the session cleared (cursor and metadata kept) before the turn, the user told once,
 * per-bot overrides over the global policy, and the config that drives it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InboundMessage } from '../../src/core/inbound.js';
import type { TurnQueue, TurnRequest } from '../../src/core/turn-queue.js';
import { BotsConfigSchema } from '../../src/config/schema.js';
import { resetPolicyResolver } from '../../src/host/reset-policies.js';
import { createIngress, RecentIds, type BotPolicy, type IngressContext, type ResetPolicy } from '../../src/ingress/index.js';
import { lastDailyBoundary, resetReason } from '../../src/ingress/session-reset.js';
import { MemorySessionStore } from '../../src/sessions/memory-session-store.js';

const HOUR = 3_600_000;
const bot = (id = 'tg'): BotPolicy => ({ id, platform: 'telegram', agent: 'assistant', allowedUsers: [], unknownUserPolicy: 'allow', groupPolicy: 'mention_only', scope: 'per_user' });
let nextId = 1;
const msg = (text = 'hello'): InboundMessage => ({
  platform: 'telegram', botId: 'tg', chatId: '42', userId: '7', messageId: String(nextId++), text, isDirect: true, mentionsBot: false, receivedAt: Date.now(),
});
const SESSION = 'bot_telegram_7';

function setup(policy: ResetPolicy, clock: { now: number }) {
  const store = new MemorySessionStore();
  const enqueued: TurnRequest[] = [];
  const replies: string[] = [];
  const queue: TurnQueue = { enqueue: async (r) => void enqueued.push(r), close: async () => undefined };
  const ingress = createIngress({ queue, store, seen: new RecentIds(), resetPolicyFor: () => policy, describeAgent: () => ({ name: 'A', model: 'echo' }) });
  // The step and the store read one clock: the system time, moved by the test.
  const send = async (m: InboundMessage) => {
    vi.setSystemTime(clock.now);
    const ctx: IngressContext = { message: m, bot: bot(), reply: async (t) => void replies.push(t) };
    await ingress(ctx);
    return ctx;
  };
  return { store, enqueued, replies, send };
}

async function seed(store: MemorySessionStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.commitTurn(SESSION, { inboundId: `seed-${i}`, entries: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] });
  await store.updateMetadata(SESSION, { name: 'Ann' });
}

describe('session reset step', () => {
  afterEach(() => void vi.useRealTimers());
  const fakeDate = () => vi.useFakeTimers({ toFake: ['Date'] });

  it('idle: after idle_minutes of quiet the next message clears the session first and the user is told once', async () => {
    fakeDate();
    const clock = { now: Date.now() };
    const { store, enqueued, replies, send } = setup({ mode: 'idle', idleMinutes: 60, atHour: 4 }, clock);
    await seed(store, 2);
    const before = await store.getSession(SESSION);

    clock.now = before!.updatedAt + 59 * 60_000;
    await send(msg('still here'));
    expect(replies).toEqual([]);
    expect(await store.getChatHistory(SESSION)).toHaveLength(4);

    clock.now = before!.updatedAt + 61 * 60_000;
    const ctx = await send(msg('back after lunch'));
    expect(ctx.outcome).toBe('enqueued');
    expect(replies).toEqual(['Started a new conversation (idle 60 min).']);
    expect(enqueued.at(-1)!.inbound.text).toBe('back after lunch');
    // Cleared, with cursor, metadata and remembered inbound ids kept.
    const after = await store.getSession(SESSION);
    expect(after).toMatchObject({ messageCount: 0, lastCursor: 4, metadata: { name: 'Ann', last_reset: { at: clock.now, reason: 'idle 60 min' } } });
    expect(await store.findCommitted(SESSION, 'seed-0')).toBe(1);

    // A second message before the first one's turn committed: no second reset, no second notice.
    await send(msg('and another thing'));
    expect(replies).toHaveLength(1);
    expect(enqueued).toHaveLength(3);
  });

  it('/new after the idle spell is answered by /new alone (one notice, not two)', async () => {
    fakeDate();
    const clock = { now: Date.now() + 2 * HOUR };
    const { store, replies, send } = setup({ mode: 'idle', idleMinutes: 60, atHour: 4 }, clock);
    await seed(store, 1);
    const ctx = await send(msg('/new'));
    expect(ctx.outcome).toBe('command');
    expect(replies).toEqual(['Started a new conversation; I have forgotten the previous one.']);
    expect(await store.getChatHistory(SESSION)).toEqual([]);
  });

  it('a burst of messages after the idle spell is told once', async () => {
    fakeDate();
    const clock = { now: Date.now() + 2 * HOUR };
    const { store, replies, send, enqueued } = setup({ mode: 'idle', idleMinutes: 60, atHour: 4 }, clock);
    await seed(store, 1);
    await Promise.all([send(msg('a')), send(msg('b')), send(msg('c'))]);
    expect(replies).toEqual(['Started a new conversation (idle 60 min).']);
    expect(enqueued).toHaveLength(3);
  });

  it('none, a new session and an already empty session are never reset', async () => {
    fakeDate();
    const clock = { now: Date.now() + 100 * HOUR };
    const none = setup({ mode: 'none', idleMinutes: 1, atHour: 4 }, clock);
    await seed(none.store, 1);
    await none.send(msg());
    expect(none.replies).toEqual([]);
    expect(await none.store.getChatHistory(SESSION)).toHaveLength(2);

    const idle = setup({ mode: 'idle', idleMinutes: 1, atHour: 4 }, clock);
    await idle.send(msg());
    await idle.store.updateMetadata(SESSION, { only: 'metadata' });
    await idle.send(msg());
    expect(idle.replies).toEqual([]);
  });

  it('daily: resets once the at_hour boundary passed since the last activity', async () => {
    fakeDate();
    const clock = { now: Date.now() };
    const { store, replies, send } = setup({ mode: 'daily', idleMinutes: 60, atHour: 4 }, clock);
    await seed(store, 1);
    const last = (await store.getSession(SESSION))!.updatedAt;
    const boundary = lastDailyBoundary(last, 4) + 24 * HOUR; // the next 04:00 after the activity
    clock.now = boundary - 60_000;
    await send(msg());
    expect(replies).toEqual([]);
    clock.now = boundary + 60_000;
    await send(msg());
    expect(replies).toEqual(['Started a new conversation (daily reset at 04:00).']);
  });

  it('resetReason and lastDailyBoundary in local time', () => {
    const d = new Date(2026, 0, 15, 10, 30); // 10:30 local
    expect(new Date(lastDailyBoundary(d.getTime(), 4))).toEqual(new Date(2026, 0, 15, 4, 0));
    expect(new Date(lastDailyBoundary(d.getTime(), 23))).toEqual(new Date(2026, 0, 14, 23, 0));
    expect(new Date(lastDailyBoundary(new Date(2026, 0, 15, 4, 0).getTime(), 4))).toEqual(new Date(2026, 0, 15, 4, 0));
    const daily: ResetPolicy = { mode: 'daily', idleMinutes: 60, atHour: 4 };
    expect(resetReason(daily, new Date(2026, 0, 15, 3, 59).getTime(), d.getTime())).toBe('daily reset at 04:00');
    expect(resetReason(daily, new Date(2026, 0, 15, 4, 1).getTime(), d.getTime())).toBeNull();
    expect(resetReason({ mode: 'idle', idleMinutes: 180, atHour: 0 }, 0, 3 * HOUR)).toBe('idle 3 h');
    expect(resetReason({ mode: 'idle', idleMinutes: 90, atHour: 0 }, 0, 89 * 60_000)).toBeNull();
  });
});

describe('session reset config', () => {
  it('defaults to none; bots[].session_reset overrides only the fields it sets', () => {
    expect(BotsConfigSchema.parse({}).session.reset).toEqual({ mode: 'none', idle_minutes: 60, at_hour: 4 });
    const config = BotsConfigSchema.parse({
      session: { reset: { mode: 'idle', idle_minutes: '30' } },
      bots: [
        { platform: 'telegram', id: 'tg' },
        { platform: 'discord', id: 'dc', session_reset: { mode: 'daily', at_hour: 6 } },
        { platform: 'slack', id: 'sl', session_reset: { idle_minutes: 5 } },
      ],
    });
    const policyOf = resetPolicyResolver(config);
    expect(policyOf('tg')).toEqual({ mode: 'idle', idleMinutes: 30, atHour: 4 });
    expect(policyOf('dc')).toEqual({ mode: 'daily', idleMinutes: 30, atHour: 6 });
    expect(policyOf('sl')).toEqual({ mode: 'idle', idleMinutes: 5, atHour: 4 });
    expect(policyOf('console')).toEqual({ mode: 'idle', idleMinutes: 30, atHour: 4 });
  });

  it('rejects a bad mode, hour or minutes', () => {
    for (const reset of [{ mode: 'weekly' }, { at_hour: 24 }, { idle_minutes: 0 }, { at_hour: 1.5 }, { idel_minutes: 5 }]) {
      expect(BotsConfigSchema.safeParse({ session: { reset } }).success, JSON.stringify(reset)).toBe(false);
    }
    expect(BotsConfigSchema.safeParse({ bots: [{ platform: 'telegram', session_reset: { mode: 'sometimes' } }] }).success).toBe(false);
  });
});
