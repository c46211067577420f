/** `bot worker` (run turns from the Redis queue) and `bot queue status`. */
import { InvalidArgumentError, type Command } from 'commander';
import { action } from './context.js';
import type { WorkerOptions } from './worker-actions.js';

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n <= 0 || String(n) !== v.trim()) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
};

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run agent turns from the Redis queue (start as many as you like, on any machine)')
    .option('--concurrency <n>', 'sessions this process runs at once (default: queue.concurrency)', int)
    .option('--lease-ttl <ms>', 'session lease TTL, renewed every third (default 10000)', int)
    .option('--lock-duration <ms>', 'job lock; a killed worker\'s turn restarts after about this (default 30000)', int)
    .option('--stalled-interval <ms>', 'how often stalled jobs are looked for (default 15000)', int)
    .option('--sweep-interval <ms>', 'how often orphaned inboxes are looked for (default 20000)', int)
    .option('--orphan-age <ms>', 'an inbox waiting this long with nobody draining it is re-kicked (default 60000)', int)
    .option('--turn-timeout <ms>', 'a model call running longer is aborted and retried (default 120000)', int)
    .action(
      action(async (opts: WorkerOptions, cmd: Command) => (await import('./worker-actions.js')).runWorker(opts, cmd)),
    );

  program
    .command('queue')
    .description('inspect the distributed turn queue')
    .command('status')
    .description('waiting/active/failed kick jobs, sessions with queued turns, the oldest waiting turn, dead letters')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => (await import('./worker-actions.js')).queueStatus(opts, cmd)),
    );
}
