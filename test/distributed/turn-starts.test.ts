/**
 * Turn starts reach the ingress in distributed mode (typing indicators, the gateway's
 * `executing`): the claim script announces the first turn of each drain, the worker announces
 * the turns it runs after it. Best effort by design (pub/sub), but with a live subscriber and a
 * healthy Redis every turn is announced exactly once, before its reply.
 */
import { describe, expect, it } from 'vitest';
import { distributedSuite, range, startWorker, waitFor, type DeliveryEvent } from '../helpers/distributed-harness.js';

const suite = distributedSuite();

function startsAndFinals(events: DeliveryEvent[], messageId: string): { starts: DeliveryEvent[]; final: DeliveryEvent | undefined } {
  const mine = events.filter((e) => e.messageId === messageId);
  return { starts: mine.filter((e) => e.kind === 'started'), final: mine.find((e) => e.kind === 'final') };
}

describe('turn starts in distributed mode', () => {
  it('every turn is announced once before its reply: a kick of one message and a drain of many', async () => {
    const { env, ingress } = await suite.setUp('starts');
    // Twelve queued in one session before any worker runs: one drain runs them all (pipelined),
    // the claim announcing the first and the worker the eleven after it.
    const burst = range(12).map((i) => `burst-${i}`);
    for (const id of burst) await ingress.enqueue('bot_test_burst', 'u2', id, id);
    await startWorker('w', env).ready();
    await waitFor('the burst replies', () => burst.every((id) => ingress.finals(id).length === 1));

    // Then one message on its own: its kick's claim announces it.
    await ingress.enqueue('bot_test_single', 'u1', 'single-1', 'hello');
    await waitFor('the single reply', () => ingress.finals('single-1').length === 1);

    for (const id of ['single-1', ...burst]) {
      const { starts, final } = startsAndFinals(ingress.events, id);
      expect(starts, `${id} announced`).toHaveLength(1);
      expect(ingress.events.indexOf(starts[0]!), `${id} announced before its reply`).toBeLessThan(ingress.events.indexOf(final!));
    }
  });
});
