/** Waiting in tests: a sleep, and polling a condition with a timeout that says what it waited for. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What the timeout error should also say (processes' logs, say), so a rare failure explains itself. */
  explain?: () => string | Promise<string>;
}

/** Polls `check` until it returns a truthy value; throws with `what` (and the last value) on timeout. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      last = await check();
      lastError = undefined;
      if (last) return last as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? `last error: ${String(lastError)}` : `last value: ${JSON.stringify(last)}`;
      const explained = options.explain ? `\n${await Promise.resolve(options.explain()).catch((e: unknown) => `(explain failed: ${String(e)})`)}` : '';
      throw new Error(`timed out after ${options.timeoutMs ?? 20_000} ms waiting for ${what} (${detail})${explained}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/**
 * Polls the synchronous `check` every 25 ms until it returns a truthy value (the platform
 * end-to-end tests' form of `waitFor`, whose fakes record state in memory).
 */
export async function until<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 15_000, explain?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${explain ? `\n${explain()}` : ''}`);
    await sleep(25);
  }
}
