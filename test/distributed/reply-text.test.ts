/**
 * A final reply reaches ingress exactly as committed, whatever its text: the worker builds the
 * outbox entry before the commit answers and the pop script writes the commit's cursor into it,
 * so no text a user can type (JSON punctuation, negative numbers, the cursor's own field) may
 * change where the cursor goes. Checked on a kick of one message (commit and pop in one round
 * trip) and on a queued burst (pipelined: the next turn runs while the pop is in flight).
 */
import { describe, expect, it } from 'vitest';
import { distributedSuite, startWorker, waitFor, type Ingress } from '../helpers/distributed-harness.js';

const suite = distributedSuite();

const TEXTS = ['-7355608001', '{"cursor": -1}}', '","cursor":', '}} "\\" \u2028 ünïcode 🙂', '-7355608001 and -7355608001 again'];

async function expectDeliveredAsCommitted(ingress: Ingress, sessionId: string, ids: string[]): Promise<void> {
  await waitFor('every reply', () => ids.every((id) => ingress.finals(id).length === 1));
  const entries = await ingress.entries(sessionId);
  for (const id of ids) {
    const [final] = ingress.finals(id);
    const user = entries.find((e) => e.role === 'user' && e.metadata?.message_id === id);
    const assistant = entries.find((e) => e.cursor === user!.cursor + 1);
    expect(assistant?.role, `${id}: the reply follows its message in the log`).toBe('assistant');
    expect(final, `${id}: delivered as committed`).toMatchObject({ text: assistant!.content, cursor: assistant!.cursor, duplicate: false });
  }
  expect(ingress.outboxEvents.filter((e) => e.type === 'bad_entry'), 'no outbox entry unreadable').toEqual([]);
}

describe('reply text in the outbox', () => {
  it('one message per kick: the reply and its cursor arrive as committed', async () => {
    const { env, ingress } = await suite.setUp('reply-text-single');
    await startWorker('w', env).ready();
    const ids: string[] = [];
    for (const [i, text] of TEXTS.entries()) {
      const id = `single-${i}`;
      ids.push(id);
      await ingress.enqueue('bot_test_single', 'u1', id, text);
      await waitFor(`reply ${id}`, () => ingress.finals(id).length === 1);
    }
    await expectDeliveredAsCommitted(ingress, 'bot_test_single', ids);
  });

  it('a queued burst drained pipelined: every reply and its cursor arrive as committed', async () => {
    const { env, ingress } = await suite.setUp('reply-text-burst');
    const ids = TEXTS.flatMap((text, i) => [`burst-${i}-a`, `burst-${i}-b`].map((id) => ({ id, text })));
    for (const { id, text } of ids) await ingress.enqueue('bot_test_burst', 'u2', id, text);
    await startWorker('w', env).ready();
    await expectDeliveredAsCommitted(
      ingress,
      'bot_test_burst',
      ids.map((x) => x.id),
    );
  });
});
