/**
 * `bot queue sessions [--stuck]`, `bot queue drain` and `bot queue resume` (loaded only when run).
 * What counts as stuck and what draining does: src/queue/stuck-sessions.ts, src/queue/queue-drain.ts.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { BotHostError } from '../core/errors.js';
import type { BotsConfig } from '../config/schema.js';
import { openQueueRedis } from '../host/distributed.js';
import { isQueueDraining, setQueueDraining, type QueueRef } from '../queue/queue-drain.js';
import { listQueuedSessions, listStuckSessions, type QueuedSession } from '../queue/stuck-sessions.js';
import { EXIT, loadForCommand, type GlobalOptions } from './context.js';

async function withQueue<T>(cmd: Command, fn: (q: QueueRef, config: BotsConfig) => Promise<T>): Promise<T> {
  const { config } = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  if (config.queue.backend !== 'bullmq') {
    throw new BotHostError('NOT_DISTRIBUTED', 'this command needs `queue.backend: bullmq` (and Redis) in bots.yaml; the inline queue keeps its turns inside `bot start`');
  }
  const redis: Redis = await openQueueRedis(config);
  try {
    return await fn({ redis, prefix: config.store.prefix, queueName: config.queue.name }, config);
  } finally {
    redis.disconnect();
  }
}

const age = (ms: number) => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 3_600_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

function table(rows: QueuedSession[]): string {
  const head = ['session', 'turns', 'oldest waiting', 'state'];
  const cells = rows.map((r) => [r.sessionId, String(r.queuedTurns), age(r.waitingMs), r.leased ? 'being drained' : r.kickPending ? 'no lease, kick pending' : 'no lease, no kick (the sweep re-kicks it)']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export async function queueSessions(opts: { stuck?: boolean; minAge?: number; json?: boolean }, cmd: Command): Promise<number> {
  return withQueue(cmd, async ({ redis, prefix }) => {
    const minAgeMs = opts.minAge === undefined ? undefined : opts.minAge * 1000;
    const rows = opts.stuck ? await listStuckSessions(redis, prefix, minAgeMs === undefined ? {} : { minAgeMs }) : await listQueuedSessions(redis, prefix);
    if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) process.stdout.write(opts.stuck ? 'no stuck sessions\n' : 'no sessions with queued turns\n');
    else process.stdout.write(`${table(rows)}\n`);
    return EXIT.ok;
  });
}

export async function queueDrain(cmd: Command): Promise<number> {
  return withQueue(cmd, async (q) => {
    const was = await isQueueDraining(q);
    await setQueueDraining(q, true);
    process.stdout.write(
      `${was ? 'already draining' : 'draining'}: workers take no new sessions (those being drained finish); turns still queue up. \`bot queue resume\` undoes it.\n`,
    );
    return EXIT.ok;
  });
}

export async function queueResume(cmd: Command): Promise<number> {
  return withQueue(cmd, async (q) => {
    const was = await isQueueDraining(q);
    await setQueueDraining(q, false);
    process.stdout.write(was ? 'resumed: workers take queued sessions again\n' : 'the queue was not draining; nothing to undo\n');
    return EXIT.ok;
  });
}
