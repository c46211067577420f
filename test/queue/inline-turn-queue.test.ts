import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/core/errors.js';
import type { Delivery, TurnRequest, TurnResult } from '../../src/core/turn-queue.js';
import { InlineTurnQueue } from '../../src/queue/inline-turn-queue.js';

const req = (sessionId: string, n: number): TurnRequest => ({
  sessionId,
  agent: 'a',
  inbound: { platform: 'console', botId: 'b', chatId: 'c', userId: 'u', messageId: `${sessionId}-${n}`, text: String(n), isDirect: true, mentionsBot: true, receivedAt: 0 },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const finals: TurnResult[] = [];
  const failures: Array<{ request: TurnRequest; message: string }> = [];
  const delivery: Delivery = {
    final: (r) => void finals.push(r),
    failed: (request, message) => void failures.push({ request, message }),
  };
  return { finals, failures, delivery };
}

describe('InlineTurnQueue', () => {
  it('runs one session at a time in arrival order, different sessions in parallel', async () => {
    const { finals, delivery } = recorder();
    const active = new Map<string, number>();
    let maxPerSession = 0;
    let maxOverall = 0;
    let overall = 0;
    const queue = new InlineTurnQueue({
      concurrency: 4,
      delivery,
      run: async (r) => {
        const n = (active.get(r.sessionId) ?? 0) + 1;
        active.set(r.sessionId, n);
        overall++;
        maxPerSession = Math.max(maxPerSession, n);
        maxOverall = Math.max(maxOverall, overall);
        await sleep(Math.random() * 3);
        active.set(r.sessionId, n - 1);
        overall--;
        return { request: r, reply: r.inbound.text, cursor: 0, duplicate: false };
      },
    });
    for (let i = 0; i < 20; i++) for (const s of ['s1', 's2', 's3', 's4', 's5', 's6']) await queue.enqueue(req(s, i));
    await queue.close();
    expect(finals).toHaveLength(120);
    expect(maxPerSession).toBe(1);
    expect(maxOverall).toBeGreaterThan(1);
    expect(maxOverall).toBeLessThanOrEqual(4);
    for (const s of ['s1', 's6']) {
      expect(finals.filter((f) => f.request.sessionId === s).map((f) => Number(f.reply))).toEqual([...Array(20).keys()]);
    }
  });

  it('retries retryable model errors before running the session’s next turn', async () => {
    const { finals, delivery } = recorder();
    let calls = 0;
    const queue = new InlineTurnQueue({
      delivery,
      run: async (r) => {
        calls++;
        if (r.inbound.text === '0' && calls < 3) throw new ModelError('429', true);
        return { request: r, reply: r.inbound.text, cursor: 0, duplicate: false };
      },
    });
    await queue.enqueue(req('s', 0));
    await queue.enqueue(req('s', 1));
    await queue.close();
    expect(finals.map((f) => f.reply)).toEqual(['0', '1']);
    expect(calls).toBe(4);
  });

  it('a permanent failure gives the user a polite message and the queue moves on', async () => {
    const { finals, failures, delivery } = recorder();
    const errors: unknown[] = [];
    const queue = new InlineTurnQueue({
      delivery,
      onError: (_r, e) => errors.push(e),
      run: async (r) => {
        if (r.inbound.text === '0') throw new ModelError('401 bad key', false);
        return { request: r, reply: 'ok', cursor: 0, duplicate: false };
      },
    });
    await queue.enqueue(req('s', 0));
    await queue.enqueue(req('s', 1));
    await queue.close();
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/^Sorry/);
    expect(failures[0]!.message).not.toContain('401');
    expect(finals).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });

  it('close waits for accepted turns, then refuses new ones; twice is fine', async () => {
    const { finals, delivery } = recorder();
    const queue = new InlineTurnQueue({
      delivery,
      run: async (r) => {
        await sleep(20);
        return { request: r, reply: 'x', cursor: 0, duplicate: false };
      },
    });
    await queue.enqueue(req('s', 0));
    await queue.enqueue(req('t', 0));
    await Promise.all([queue.close(), queue.close()]);
    expect(finals).toHaveLength(2);
    await expect(queue.enqueue(req('s', 1))).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
  });
});
