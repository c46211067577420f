/**
 * TurnLimits: the turns of one drain share one signal, which a lost lease aborts for good and a
 * turn that runs too long aborts with a TimeoutError; the retry after a timeout gets a fresh one.
 */
import { describe, expect, it } from 'vitest';
import { TurnLimits, type LossSource } from '../../src/queue/turn-limit.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lease stand-in: `lose(reason)` calls its listeners, as holdLease does. */
function fakeLease(): LossSource & { lose(reason: Error): void; listeners: number } {
  let listeners: ((reason: Error) => void)[] = [];
  let lost: Error | undefined;
  return {
    get listeners() {
      return listeners.length;
    },
    onLost(listener) {
      if (lost) {
        listener(lost);
        return () => undefined;
      }
      listeners.push(listener);
      return () => {
        listeners = listeners.filter((l) => l !== listener);
      };
    },
    lose(reason) {
      lost = reason;
      for (const l of listeners) l(reason);
      listeners = [];
    },
  };
}

describe('TurnLimits', () => {
  it('shares one signal between turns that end in time', async () => {
    const limits = new TurnLimits(fakeLease(), 60);
    const signals: AbortSignal[] = [];
    for (let i = 0; i < 5; i++) {
      const turn = limits.start();
      signals.push(turn.signal);
      await sleep(20);
      turn.dispose();
    }
    // 100 ms of turns, each within the 60 ms limit: the deadline moves with each start.
    expect(new Set(signals).size).toBe(1);
    expect(signals[0]!.aborted).toBe(false);
    limits.close();
  });

  it('aborts a turn that runs too long with a TimeoutError, and gives its retry a fresh signal', async () => {
    const limits = new TurnLimits(fakeLease(), 30);
    const slow = limits.start();
    await sleep(60);
    expect(slow.signal.aborted).toBe(true);
    expect((slow.signal.reason as Error).name).toBe('TimeoutError');
    slow.dispose();
    const retry = limits.start();
    expect(retry.signal).not.toBe(slow.signal);
    expect(retry.signal.aborted).toBe(false);
    retry.dispose();
    limits.close();
  });

  it('does not time out between turns, nor after the drain closed', async () => {
    const limits = new TurnLimits(fakeLease(), 20);
    const turn = limits.start();
    turn.dispose();
    turn.dispose(); // twice is harmless: no turn is counted as running below zero
    await sleep(50);
    expect(turn.signal.aborted).toBe(false);
    const next = limits.start();
    limits.close();
    await sleep(50);
    expect(next.signal.aborted).toBe(false);
  });

  it("aborts with the lease's reason when the lease is lost, and stays aborted for later turns", () => {
    const lease = fakeLease();
    const limits = new TurnLimits(lease, 1_000);
    const turn = limits.start();
    const lost = new Error('lease lost');
    lease.lose(lost);
    expect(turn.signal.aborted).toBe(true);
    expect(turn.signal.reason).toBe(lost);
    turn.dispose();
    expect(limits.start().signal.reason).toBe(lost);
    limits.close();
  });

  it('stops following the lease once the drain closed', () => {
    const lease = fakeLease();
    const limits = new TurnLimits(lease, 1_000);
    const turn = limits.start();
    turn.dispose();
    expect(lease.listeners).toBe(1);
    limits.close();
    expect(lease.listeners).toBe(0);
    lease.lose(new Error('lost after the drain'));
    expect(turn.signal.aborted).toBe(false);
  });

  it('starts aborted under a lease already lost', () => {
    const lease = fakeLease();
    lease.lose(new Error('gone'));
    const limits = new TurnLimits(lease, 1_000);
    expect(limits.start().signal.aborted).toBe(true);
    limits.close();
  });
});
