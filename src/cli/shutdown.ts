/**
 * Graceful shutdown for long-running commands: the first SIGINT/SIGTERM resolves (the command
 * then drains its work); a second signal exits at once (130 for SIGINT, 143 for SIGTERM).
 *
 * A drain that cannot finish — Redis, the database or a platform not answering — must not keep
 * the process alive forever: after `BOT_SHUTDOWN_GRACE_MS` (default 30 s) the process says so
 * and exits 1. Nothing acknowledged is lost by that: a worker's unfinished turns are taken over
 * when their leases lapse, and an embedded process re-runs its intake on the next start.
 */
export const SHUTDOWN_GRACE_DEFAULT_MS = 30_000;

export function shutdownGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BOT_SHUTDOWN_GRACE_MS);
  return Number.isFinite(value) && value > 0 ? value : SHUTDOWN_GRACE_DEFAULT_MS;
}

export function waitForShutdown(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const onSignal = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      const grace = shutdownGraceMs();
      setTimeout(() => {
        process.stderr.write(
          `bothost: could not stop cleanly within ${grace / 1000} s (Redis, the database or a platform is not answering); exiting now — unfinished work is taken up again by another worker or on the next start\n`,
        );
        process.exit(1);
      }, grace).unref();
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
