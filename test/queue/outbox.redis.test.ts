/**
 * The outbox consumer and broadcast reader against a real Redis, entries appended as the pop
 * script appends them (fields `i` and `m`, messages from RedisDeliveryPublisher). Process
 * kills are covered by test/distributed/outbox.test.ts; this file covers the rules in between.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, TurnRequest, TurnResult } from '../../src/core/turn-queue.js';
import { DeliveryRouter } from '../../src/host/delivery-router.js';
import { outboxKeys } from '../../src/queue/inbox-keys.js';
import { OutboxBroadcastReader } from '../../src/queue/outbox-broadcast.js';
import { OUTBOX_DEFAULTS, OutboxConsumer, parseEntry, type OutboxEvent } from '../../src/queue/outbox-consumer.js';
import { OutboxRoutes } from '../../src/queue/outbox-routes.js';
import { connectRedis as connectProductRedis } from '../../src/redis/redis-connection.js';
import { RedisDeliveryPublisher } from '../../src/queue/redis-delivery.js';
import { REDIS_URL, connectRedis, deleteByPrefix, sleep, uniquePrefix } from '../locks/redis-test-env.js';

const BOT = 'tb';
let admin: Redis;
let client: Redis;
const prefixes: string[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  admin = await connectRedis();
  client = connectProductRedis(REDIS_URL);
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(admin, p);
  client.disconnect();
  await admin.quit();
});

function newPrefix(): string {
  const p = uniquePrefix();
  prefixes.push(p);
  return p;
}

function request(sessionId: string, messageId: string): TurnRequest {
  return {
    sessionId,
    agent: 'assistant',
    inbound: { platform: 'test', botId: BOT, chatId: sessionId, userId: sessionId, messageId, text: messageId, isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

/** Append as popTurn-10.lua does. */
async function appendFinal(prefix: string, sessionId: string, messageId: string, reply = `re ${messageId}`): Promise<void> {
  const { key, message } = new RedisDeliveryPublisher(admin, prefix).encodeFinal({ request: request(sessionId, messageId), reply, cursor: 1, duplicate: false });
  await admin.xadd(key, '*', 'i', `${BOT}:${messageId}`, 'm', message);
}

async function appendFailed(prefix: string, sessionId: string, messageId: string): Promise<void> {
  const { key, message } = new RedisDeliveryPublisher(admin, prefix).encodeFailed(request(sessionId, messageId), 'Sorry');
  await admin.xadd(key, '*', 'i', `${BOT}:${messageId}`, 'm', message);
}

interface Got {
  kind: 'final' | 'failed';
  messageId: string;
  sessionId: string;
  by: string;
}

function recorder(got: Got[], by: string, opts: { delayMs?: number; fail?: (id: string) => boolean } = {}): Delivery {
  const at = async (kind: Got['kind'], r: TurnRequest) => {
    if (opts.delayMs) await sleep(opts.delayMs);
    if (opts.fail?.(r.inbound.messageId)) throw new Error(`platform refused ${r.inbound.messageId}`);
    got.push({ kind, messageId: r.inbound.messageId, sessionId: r.sessionId, by });
  };
  return {
    final: (res: TurnResult) => at('final', res.request),
    failed: (r: TurnRequest) => at('failed', r),
  };
}

function consumer(prefix: string, delivery: Delivery, extra: Partial<ConstructorParameters<typeof OutboxConsumer>[0]> = {}): OutboxConsumer {
  const c = new OutboxConsumer({ client, prefix, botId: BOT, delivery, ...extra });
  closers.push(() => c.close());
  return c;
}

async function pending(prefix: string): Promise<number> {
  return Number(((await admin.xpending(outboxKeys(prefix, BOT).stream, OUTBOX_DEFAULTS.group)) as [number])[0]);
}

const waitUntil = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
};

describe('OutboxConsumer', () => {
  it('delivers replies appended before any consumer existed, one session in order, and acknowledges them', async () => {
    const prefix = newPrefix();
    for (let i = 0; i < 5; i++) await appendFinal(prefix, 's1', `m${i}`);
    const got: Got[] = [];
    await consumer(prefix, recorder(got, 'a', { delayMs: 5 })).start();
    await waitUntil('five delivered', () => got.length === 5);
    expect(got.map((g) => g.messageId)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await waitUntil('acknowledged', async () => (await pending(prefix)) === 0);
  });

  it('reads a fast stream of replies in batches, waiting lingerMs between reads; a quiet one at once', async () => {
    const prefix = newPrefix();
    const at: number[] = [];
    const delivery: Delivery = { final: async () => void at.push(performance.now()), failed: async () => undefined };
    await consumer(prefix, delivery, { lingerMs: 100 }).start();
    // Quiet: the read has waited long for this reply, so it goes out at once.
    await sleep(300);
    const appendedAt = performance.now();
    await appendFinal(prefix, 'q', 'quiet');
    await waitUntil('the quiet reply', () => at.length === 1);
    expect(at[0]! - appendedAt).toBeLessThan(60);
    // Fast: 30 replies 10 ms apart. A read that finds one within 100 ms is followed by a 100 ms
    // wait, so the next read takes the ones that arrived meanwhile (without it: 30 reads).
    for (let i = 0; i < 30; i++) {
      await appendFinal(prefix, 'f', `f${i}`);
      await sleep(10);
    }
    await waitUntil('the fast replies', () => at.length === 31);
    const fast = at.slice(1);
    const batches = fast.filter((t, i) => i === 0 || t - fast[i - 1]! > 5).length;
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(batches).toBeLessThanOrEqual(10);
    await waitUntil('acknowledged', async () => (await pending(prefix)) === 0);
  });

  it('a reply appended twice for one inbound id is sent once; a failure notice and a later reply for one id are two sends', async () => {
    const prefix = newPrefix();
    const got: Got[] = [];
    const events: OutboxEvent[] = [];
    await consumer(prefix, recorder(got, 'a'), { onEvent: (e) => events.push(e) }).start();
    await appendFinal(prefix, 's1', 'dup');
    await waitUntil('first send', () => got.length === 1);
    await appendFinal(prefix, 's1', 'dup');
    await appendFailed(prefix, 's2', 'x');
    await appendFinal(prefix, 's2', 'x');
    await waitUntil('the notice and the reply of x', () => got.length === 3);
    await waitUntil('acknowledged', async () => (await pending(prefix)) === 0);
    await sleep(200);
    expect(got.map((g) => `${g.kind}:${g.messageId}`)).toEqual(['final:dup', 'failed:x', 'final:x']);
    expect(events.filter((e) => e.type === 'possible_duplicate')).toEqual([]);
  });

  it('a send the adapter keeps failing is retried, then dropped, logged and acknowledged; later replies still go out', async () => {
    const prefix = newPrefix();
    const got: Got[] = [];
    const events: OutboxEvent[] = [];
    let tries = 0;
    const delivery = recorder(got, 'a', { fail: (id) => id === 'bad' && ++tries > 0 });
    await consumer(prefix, delivery, { sendRetryBaseMs: 10, onEvent: (e) => events.push(e) }).start();
    await appendFinal(prefix, 's1', 'bad');
    await appendFinal(prefix, 's1', 'good');
    await waitUntil('the next reply delivered', () => got.some((g) => g.messageId === 'good'));
    await waitUntil('acknowledged', async () => (await pending(prefix)) === 0);
    expect(tries).toBe(OUTBOX_DEFAULTS.sendAttempts);
    const failures = events.filter((e) => e.type === 'send_failed');
    expect(failures.map((e) => (e as { willRetry: boolean }).willRetry)).toEqual([true, true, false]);
    expect(got.map((g) => g.messageId)).toEqual(['good']);
  });

  it('a consumer that is merely slow keeps its entries: another one never takes them over (no second send)', async () => {
    const prefix = newPrefix();
    const got: Got[] = [];
    const claimIdleMs = 300;
    const slow = consumer(prefix, recorder(got, 'slow', { delayMs: 1200 }), { claimIdleMs });
    await slow.start();
    await appendFinal(prefix, 's1', 'm0');
    await appendFinal(prefix, 's1', 'm1');
    await waitUntil('the slow consumer to hold both', async () => (await pending(prefix)) === 2);
    const events: OutboxEvent[] = [];
    await consumer(prefix, recorder(got, 'fast'), { claimIdleMs, onEvent: (e) => events.push(e) }).start();
    await waitUntil('both delivered', () => got.length === 2, 10_000);
    await sleep(claimIdleMs * 3);
    expect(got.map((g) => `${g.by}:${g.messageId}`)).toEqual(['slow:m0', 'slow:m1']);
    expect(events.filter((e) => e.type === 'claimed')).toEqual([]);
  });

  it('two consumers share 1000 replies: each sent exactly once, and acknowledged entries are trimmed', async () => {
    const prefix = newPrefix();
    const got: Got[] = [];
    await consumer(prefix, recorder(got, 'a')).start();
    await consumer(prefix, recorder(got, 'b')).start();
    const stream = outboxKeys(prefix, BOT).stream;
    const pipe = admin.pipeline();
    const publisher = new RedisDeliveryPublisher(admin, prefix);
    for (let i = 0; i < 1000; i++) {
      const { message } = publisher.encodeFinal({ request: request(`s${i % 50}`, `m${i}`), reply: 'r', cursor: 1, duplicate: false });
      pipe.xadd(stream, '*', 'i', `${BOT}:m${i}`, 'm', message);
    }
    await pipe.exec();
    await waitUntil('1000 delivered', () => got.length >= 1000, 20_000);
    await waitUntil('acknowledged', async () => (await pending(prefix)) === 0);
    await sleep(200);
    expect(got).toHaveLength(1000);
    expect(new Set(got.map((g) => g.messageId)).size).toBe(1000);
    // MINID ~ trims whole stream nodes (100 entries by default); at most one is left partly used.
    await appendFinal(prefix, 's0', 'last');
    await waitUntil('the last one acknowledged', async () => got.length === 1001 && (await pending(prefix)) === 0);
    expect(await admin.xlen(stream)).toBeLessThanOrEqual(200);
    // Each send left one sent record.
    expect(await admin.zcard(outboxKeys(prefix, BOT).sent)).toBe(1001);
  });

  it('forgets consumers of stopped processes once they hold nothing, and keeps those that do', async () => {
    const prefix = newPrefix();
    const stream = outboxKeys(prefix, BOT).stream;
    await appendFinal(prefix, 's1', 'm0');
    await appendFinal(prefix, 's1', 'm1');
    await admin.xgroup('CREATE', stream, OUTBOX_DEFAULTS.group, '0', 'MKSTREAM');
    // Two stopped processes: one read and acknowledged its entry, one died holding one.
    const read = (await admin.xreadgroup('GROUP', OUTBOX_DEFAULTS.group, 'gone-done', 'COUNT', 1, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
    await admin.xack(stream, OUTBOX_DEFAULTS.group, read[0]![1][0]![0]);
    await admin.xreadgroup('GROUP', OUTBOX_DEFAULTS.group, 'gone-holding', 'COUNT', 1, 'STREAMS', stream, '>');
    await sleep(150);
    const got: Got[] = [];
    await consumer(prefix, recorder(got, 'a'), { forgetIdleConsumerMs: 100, claimIdleMs: 60_000 }).start();
    const names = ((await admin.xinfo('CONSUMERS', stream, OUTBOX_DEFAULTS.group)) as unknown[][]).map((c) => String(c[1]));
    expect(names).not.toContain('gone-done');
    expect(names).toContain('gone-holding');
  });
});

describe('RedisDeliveryPublisher', () => {
  it('a final reply built before its commit answers reads back whole once the cursor is written between its parts', () => {
    const publisher = new RedisDeliveryPublisher(admin, 'p');
    for (const reply of ['plain', '-1', '"}} ,"cursor":7', '{"kind":"failed"}', '']) {
      const draft = { request: { ...request('s1', 'm1'), inbound: { ...request('s1', 'm1').inbound, text: reply } }, reply, duplicate: false, committedAt: 1.5, stopped: true };
      const { before, after } = publisher.encodeFinalAwaitingCursor(draft);
      // As popTurn-10.lua writes it: the parts around the assistant entry's cursor.
      expect(parseEntry(['i', `${BOT}:m1`, 'm', `${before}${42}${after}`])).toEqual({ inboundId: `${BOT}:m1`, message: { kind: 'final', result: { ...draft, cursor: 42 } } });
    }
  });
});

describe('broadcast routes', () => {
  it('every reader sees every reply appended after it started, one session in order; nothing is acknowledged', async () => {
    const prefix = newPrefix();
    await appendFinal(prefix, 's1', 'before');
    const a: Got[] = [];
    const b: Got[] = [];
    for (const [got, by] of [[a, 'a'], [b, 'b']] as const) {
      const reader = new OutboxBroadcastReader({ client, prefix, botId: BOT, delivery: recorder(got, by, { delayMs: 2 }) });
      closers.push(() => reader.close());
      await reader.start();
    }
    for (let i = 0; i < 10; i++) await appendFinal(prefix, 's1', `m${i}`);
    await waitUntil('both readers have all ten', () => a.length === 10 && b.length === 10);
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    expect(a.map((g) => g.messageId)).toEqual(ids);
    expect(b.map((g) => g.messageId)).toEqual(ids);
  });

  it('DeliveryRouter: a broadcast registration reaches every process; a default one exactly one', async () => {
    const prefix = newPrefix();
    const bots = { shared: 'gw', single: 'tg' };
    const got: Record<string, string[]> = { p1: [], p2: [] };
    const processes = ['p1', 'p2'].map((name) => {
      const router = new DeliveryRouter();
      const routes = new OutboxRoutes({ client, prefix, delivery: router });
      router.connect(routes);
      closers.push(() => routes.close());
      const delivery: Delivery = { final: (r) => void got[name]!.push(`${r.request.inbound.botId}:${r.request.inbound.messageId}`), failed: () => undefined };
      router.register(bots.shared, delivery, { broadcast: true });
      router.register(bots.single, delivery);
      return router;
    });
    await Promise.all(processes.map((r) => r.ready()));
    const publisher = new RedisDeliveryPublisher(admin, prefix);
    for (const botId of [bots.shared, bots.single]) {
      for (let i = 0; i < 4; i++) {
        const req = { ...request('s', `m${i}`), inbound: { ...request('s', `m${i}`).inbound, botId } };
        const { key, message } = publisher.encodeFinal({ request: req, reply: 'r', cursor: 1, duplicate: false });
        await admin.xadd(key, '*', 'i', `${botId}:m${i}`, 'm', message);
      }
    }
    await waitUntil('all delivered', () => got.p1!.filter((x) => x.startsWith('gw')).length === 4 && got.p2!.filter((x) => x.startsWith('gw')).length === 4 && [...got.p1!, ...got.p2!].filter((x) => x.startsWith('tg')).length === 4);
    await sleep(300);
    const tg = [...got.p1!, ...got.p2!].filter((x) => x.startsWith('tg')).sort();
    expect(tg).toEqual(['tg:m0', 'tg:m1', 'tg:m2', 'tg:m3']);
  });
});
