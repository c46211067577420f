/**
 * TurnLimits: the turns of one drain share one signal, which a lost lease aborts for good and a
 * turn that runs too long aborts with a TimeoutError; the retry after a timeout gets a fresh one.
 * SignalPool: a drain's controller serves the next drain only when it is clean.
 */
import { describe, expect, it } from 'vitest';
import { SignalPool, TurnLimits, type LossSource } from '../../src/queue/turn-limit.js';

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

describe('SignalPool', () => {
  /** One drain of one turn under `pool`; `during` runs while the turn holds its signal. */
  function drain(pool: SignalPool, during: (signal: AbortSignal) => void = () => undefined, lease = fakeLease()): AbortSignal {
    const limits = new TurnLimits(lease, 1_000, pool);
    const turn = limits.start();
    during(turn.signal);
    turn.dispose();
    limits.close();
    return turn.signal;
  }

  it('hands a clean signal from one drain to the next', () => {
    const pool = new SignalPool();
    const first = drain(pool);
    expect(pool.size).toBe(1);
    const second = drain(pool);
    expect(second).toBe(first);
    expect(second.aborted).toBe(false);
  });

  it('drops a signal a listener was left on, so no later drain calls it', () => {
    const pool = new SignalPool();
    let called = 0;
    const first = drain(pool, (signal) => signal.addEventListener('abort', () => called++));
    expect(pool.size).toBe(0);
    const lease = fakeLease();
    const second = drain(pool, () => lease.lose(new Error('lost')), lease);
    expect(second).not.toBe(first);
    expect(second.aborted).toBe(true);
    expect(called).toBe(0);
  });

  it('keeps a signal whose listeners were removed', () => {
    const pool = new SignalPool();
    const first = drain(pool, (signal) => {
      const follow = () => undefined;
      signal.addEventListener('abort', follow, { once: true });
      signal.removeEventListener('abort', follow);
    });
    expect(drain(pool)).toBe(first);
  });

  it('never hands out an aborted signal: not after a lost lease, nor after a timeout', async () => {
    const pool = new SignalPool();
    const lease = fakeLease();
    const lost = drain(pool, () => lease.lose(new Error('lost')), lease);
    expect(lost.aborted).toBe(true);
    expect(pool.size).toBe(0);
    const limits = new TurnLimits(fakeLease(), 20, pool);
    const slow = limits.start();
    await sleep(50);
    expect(slow.signal.aborted).toBe(true);
    slow.dispose();
    const retry = limits.start();
    retry.dispose();
    limits.close();
    // The retry's fresh signal went back; the timed-out one did not.
    expect(pool.size).toBe(1);
    const next = drain(pool);
    expect(next).toBe(retry.signal);
    expect(next.aborted).toBe(false);
  });

  it('retires a controller after maxUses drains and keeps at most maxFree', () => {
    const pool = new SignalPool(3, 2);
    const signals = Array.from({ length: 4 }, () => drain(pool));
    expect(signals[1]).toBe(signals[0]);
    expect(signals[2]).toBe(signals[0]);
    expect(signals[3]).not.toBe(signals[0]);
    const held = [pool.take(), pool.take(), pool.take()];
    for (const c of held) pool.give(c);
    expect(pool.size).toBe(2);
  });
});
