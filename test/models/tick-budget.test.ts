import { describe, expect, it } from 'vitest';
import { TickBudget } from '../../src/models/tick-budget.js';

describe('TickBudget', () => {
  it('lets perTick callers on per loop iteration, in order, with timers running between batches', async () => {
    const budget = new TickBudget(64);
    const events: string[] = [];
    // One count per loop iteration, taken before the budget's own batch.
    let batch = 0;
    let counting = true;
    const iteration = () => {
      batch++;
      if (counting) setImmediate(iteration);
    };
    setImmediate(iteration);
    // A timer stands for a lease renewal that must not wait for all 200 callers.
    setTimeout(() => events.push('timer'), 1);
    const order: number[] = [];
    const busy = (ms: number) => {
      for (const end = performance.now() + ms; performance.now() < end; );
    };
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        budget.take().then(() => {
          order.push(i);
          events.push(`batch ${batch}`);
          busy(0.1); // each batch takes ~6 ms: the timer is due after the first
        }),
      ),
    );
    counting = false;
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const perBatch = new Map<string, number>();
    for (const e of events) if (e !== 'timer') perBatch.set(e, (perBatch.get(e) ?? 0) + 1);
    expect([...perBatch.values()]).toEqual([64, 64, 64, 8]);
    // The timer ran before the last callers went on.
    expect(events.indexOf('timer')).toBeGreaterThan(0);
    expect(events.indexOf('timer')).toBeLessThan(events.length - 8);
    expect(budget.queued).toBe(0);
  });

  it('does not hold up a caller while the iteration has budget left', async () => {
    const budget = new TickBudget(2);
    let went = 0;
    void budget.take().then(() => went++);
    void budget.take().then(() => went++);
    void budget.take().then(() => went++);
    await Promise.resolve();
    expect(went).toBe(2);
    expect(budget.queued).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(went).toBe(3);
  });
});
