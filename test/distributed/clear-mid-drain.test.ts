/**
 * A session cleared (`/new`, `bot session clear`) while a worker drains it: the pipelined drain
 * computes each next turn's history from what it read and committed, so it must notice the log
 * changed behind it and read it afresh. Turns in flight at the clear may still see the old
 * history (as without pipelining); every turn started after that sees only the new log (I4).
 */
import { describe, expect, it } from 'vitest';
import { distributedSuite, range, startWorker, waitFor } from '../helpers/distributed-harness.js';
import type { FakeChatBody } from '../helpers/fake-openai-server.js';

const suite = distributedSuite();

describe('clearing a session while it is drained', () => {
  it('turns after the clear see only the new log; at most the turns in flight at the clear see the old one', async () => {
    // Answers like the echo model (`turn N` = user messages it was sent), ~20 ms per call.
    suite.fake.setResponder(async (body: FakeChatBody) => {
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      await new Promise((r) => setTimeout(r, 20));
      return `[echo] turn ${users.length}: you said "${String(users.at(-1)?.content ?? '')}"`;
    });
    const { env, ingress } = await suite.setUp('clear', { fakeModel: true });
    const session = 'bot_test_cleared';
    const TOTAL = 30;
    for (const i of range(TOTAL)) await ingress.enqueue(session, 'u', `m${i}`);
    await startWorker('w', env).ready();

    await waitFor('a few turns committed', async () => (await ingress.entries(session)).length >= 12, { intervalMs: 5 });
    expect(await ingress.store.clearSession(session)).toBe(true);
    await waitFor('every message answered', () => new Set(ingress.finals().map((f) => f.messageId)).size === TOTAL, { timeoutMs: 30_000 });

    const after = await ingress.entries(session);
    const pairs = range(after.length / 2).map((i) => ({ user: after[2 * i]!, assistant: after[2 * i + 1]! }));
    expect(pairs.length).toBeGreaterThan(5);
    // Reply k of the new log (1-based) must say `turn k` — except for up to two turns that were
    // already running (or, pipelined, already computed) when the clear landed.
    const wrong = pairs
      .map((p, i) => ({ id: p.user.metadata?.message_id, reply: p.assistant.content, k: i + 1 }))
      .filter((p) => !p.reply.startsWith(`[echo] turn ${p.k}: `));
    expect(wrong.length, JSON.stringify(wrong.slice(0, 5))).toBeLessThanOrEqual(2);
    for (const w of wrong) expect(pairs.findIndex((p) => p.user.metadata?.message_id === w.id), `${w.id} is not among the first turns after the clear`).toBeLessThan(2);
  }, 60_000);
});
