/**
 * In-process mutual exclusion per key: callers with the same key run one at a time, in call
 * order; different keys run concurrently. Entries are dropped when idle, so memory stays
 * bounded by the keys in use.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with an operation running or waiting (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
