/**
 * `bot queue dead list|show|retry|purge`: the turns that failed for good (src/queue/dead-letters.ts
 * keeps them and says how a retry runs exactly once). A dead letter is named by its position in
 * `list` (1 = newest) or by its inbound id; `retry` prints the record before queueing it again,
 * so a crash in between leaves it on screen to re-run by hand.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { BotHostError } from '../core/errors.js';
import { openQueueRedis } from '../host/distributed.js';
import { deadLetterKey } from '../queue/inbox-keys.js';
import { listDeadLetters, pickDeadLetter, retryDeadLetter, type ListedDeadLetter } from '../queue/dead-letters.js';
import { EXIT, loadForCommand, type GlobalOptions } from './context.js';

async function withQueueRedis<T>(cmd: Command, fn: (redis: Redis, ctx: { key: string; prefix: string; queueName: string }) => Promise<T>): Promise<T> {
  const { config } = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  if (config.queue.backend !== 'bullmq') throw new BotHostError('NOT_DISTRIBUTED', 'dead letters are kept by the bullmq queue; this config uses the inline queue (failed turns are only logged)');
  const redis = await openQueueRedis(config);
  try {
    return await fn(redis, { key: deadLetterKey(config.store.prefix), prefix: config.store.prefix, queueName: config.queue.name });
  } finally {
    redis.disconnect();
  }
}

const summary = (d: ListedDeadLetter) => `${String(d.n).padStart(3)}  ${new Date(d.record.at).toISOString()}  ${d.record.sessionId}  ${d.record.inboundId}  tries ${d.record.tries}  ${d.record.error.slice(0, 80)}`;

export async function deadList(opts: { json?: boolean }, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { prefix }) => {
    const all = await listDeadLetters(redis, prefix);
    if (opts.json) process.stdout.write(`${JSON.stringify(all.map((d) => ({ n: d.n, ...d.record, request: undefined, retryable: d.record.request !== undefined })), null, 2)}\n`);
    else process.stdout.write(all.length === 0 ? 'no dead letters\n' : `${all.map(summary).join('\n')}\n`);
    return EXIT.ok;
  });
}

export async function deadShow(selector: string, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { prefix }) => {
    process.stdout.write(`${JSON.stringify(pickDeadLetter(await listDeadLetters(redis, prefix), selector).record, null, 2)}\n`);
    return EXIT.ok;
  });
}

export async function deadRetry(selector: string, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { prefix, queueName }) => {
    const chosen = pickDeadLetter(await listDeadLetters(redis, prefix), selector);
    await retryDeadLetter({ redis, prefix, queueName }, chosen, () => process.stderr.write(`retrying ${chosen.record.inboundId} of ${chosen.record.sessionId}: ${chosen.raw}\n`));
    process.stdout.write(`queued ${chosen.record.inboundId} again as a new turn of ${chosen.record.sessionId}\n`);
    return EXIT.ok;
  });
}

/** Deletes the dead letters counted when it ran; one added meanwhile (at the head) stays. */
const PURGE_OLDEST = `local keep = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[1])
if keep <= 0 then return redis.call('DEL', KEYS[1]) end
return redis.call('LTRIM', KEYS[1], 0, keep - 1)`;

export async function deadPurge(opts: { yes?: boolean }, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { key }) => {
    const count = await redis.llen(key);
    if (!opts.yes) {
      process.stderr.write(`${count} dead letter(s); run again with --yes to delete them\n`);
      return EXIT.usage;
    }
    await redis.eval(PURGE_OLDEST, 1, key, count);
    process.stdout.write(`deleted ${count} dead letter(s)\n`);
    return EXIT.ok;
  });
}
