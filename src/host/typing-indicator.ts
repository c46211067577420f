/**
 * "typing…" while the agent works: platforms show it for a few seconds (Telegram ~5 s, Discord
 * ~10 s), so it is sent again every `intervalMs` until `stop()`, and at most for `maxMs` (a reply
 * that never comes — a lost result — must not leave the bot typing forever). Failures are ignored: typing is a
 * courtesy, never a reason to fail a reply. Timers never keep the process alive.
 */
export class TypingIndicator {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly send: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly maxMs: number,
  ) {}

  /** Sends now and keeps renewing. Safe to call twice; does nothing after stop(). */
  start(): void {
    if (this.timer || this.stopped) return;
    const until = Date.now() + this.maxMs;
    const tick = () => {
      if (Date.now() > until) return this.stop();
      this.send().catch(() => undefined);
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
