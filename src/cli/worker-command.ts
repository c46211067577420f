/** `bot worker` (run turns from the Redis queue), `bot queue status|sessions|drain|resume` and `bot queue dead …`. */
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

  const queue = program.command('queue').description('inspect the distributed turn queue and its dead letters');
  queue
    .command('status')
    .description('waiting/active/failed kick jobs, sessions with queued turns, the oldest waiting turn, dead letters')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => (await import('./worker-actions.js')).queueStatus(opts, cmd)),
    );
  registerDeadLetters(queue);
  registerQueueControl(queue);
}

const seconds = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of seconds (0 or more), got "${v}"`);
  return n;
};

/** `bot queue sessions|drain|resume` (bodies in queue-control.ts, loaded only when run). */
function registerQueueControl(queue: Command): void {
  const load = () => import('./queue-control.js');
  queue
    .command('sessions')
    .description('sessions with queued turns, oldest first; --stuck: only those nobody is draining')
    .option('--stuck', 'only sessions with turns queued and no live lease')
    .option('--min-age <seconds>', 'with --stuck: only turns waiting at least this long (default 10)', seconds)
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { stuck?: boolean; minAge?: number; json?: boolean }, cmd: Command) => (await load()).queueSessions(opts, cmd)));
  queue
    .command('drain')
    .description('for a rolling deploy: workers take no new sessions (turns still queue up) until `bot queue resume`')
    .action(action(async (_opts: unknown, cmd: Command) => (await load()).queueDrain(cmd)));
  queue
    .command('resume')
    .description('undo `bot queue drain`: workers take queued sessions again')
    .action(action(async (_opts: unknown, cmd: Command) => (await load()).queueResume(cmd)));
}

/** `bot queue dead …` (bodies in dead-letters.ts, loaded only when run). */
function registerDeadLetters(queue: Command): void {
  const load = () => import('./dead-letters.js');
  const dead = queue.command('dead').description('turns that failed for good: list, show, retry or purge them');
  dead
    .command('list')
    .description('every dead letter, newest first')
    .option('--json', 'machine-readable output')
    .action(action(async (opts: { json?: boolean }, cmd: Command) => (await load()).deadList(opts, cmd)));
  dead
    .command('show <n-or-inbound-id>')
    .description('one dead letter in full (its error and the message that failed)')
    .action(action(async (selector: string, _opts: unknown, cmd: Command) => (await load()).deadShow(selector, cmd)));
  dead
    .command('retry <n-or-inbound-id>')
    .description('run a dead letter\'s turn again as a new turn of its session (exactly once)')
    .action(action(async (selector: string, _opts: unknown, cmd: Command) => (await load()).deadRetry(selector, cmd)));
  dead
    .command('purge')
    .description('delete every dead letter')
    .option('--yes', 'really delete them')
    .action(action(async (opts: { yes?: boolean }, cmd: Command) => (await load()).deadPurge(opts, cmd)));
}
