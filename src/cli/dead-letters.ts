/**
 * `bot queue dead list|show|retry|purge`: the turns that failed for good, kept in the Redis
 * list `<prefix>:dead` (newest first) by the same script that removed them from their inbox.
 *
 * A dead letter is named by its position in `list` (1 = newest) or by its inbound id. `retry`
 * takes the record out of the list with LREM of its exact text — of two concurrent retries only
 * one removes it — and only then enqueues its turn again, so a retried dead letter runs as a new
 * turn of its session exactly once. (A crash between the two loses the retry, never doubles it;
 * the record is printed first so it can be re-run by hand.) Records written before the request
 * was kept in them cannot be retried.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { BotHostError } from '../core/errors.js';
import type { TurnRequest } from '../core/turn-queue.js';
import { openQueueRedis } from '../host/distributed.js';
import { BullMQTurnQueue } from '../queue/bullmq-turn-queue.js';
import { deadLetterKey } from '../queue/inbox-keys.js';
import { EXIT, loadForCommand, type GlobalOptions } from './context.js';

interface DeadLetter {
  at: number;
  sessionId: string;
  inboundId: string;
  tries: number;
  error: string;
  request?: TurnRequest;
}

interface Listed {
  /** 1-based position in the list, newest first. */
  n: number;
  raw: string;
  record: DeadLetter;
}

async function readAll(redis: Redis, key: string): Promise<Listed[]> {
  const raws = await redis.lrange(key, 0, -1);
  return raws.map((raw, i) => ({ n: i + 1, raw, record: JSON.parse(raw) as DeadLetter }));
}

function pick(all: Listed[], selector: string): Listed {
  const found = /^\d+$/.test(selector) ? all.find((d) => d.n === Number(selector)) : all.find((d) => d.record.inboundId === selector);
  if (!found) throw new BotHostError('NO_DEAD_LETTER', `no dead letter "${selector}" (there are ${all.length}); see \`bot queue dead list\``);
  return found;
}

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

const summary = (d: Listed) => `${String(d.n).padStart(3)}  ${new Date(d.record.at).toISOString()}  ${d.record.sessionId}  ${d.record.inboundId}  tries ${d.record.tries}  ${d.record.error.slice(0, 80)}`;

export async function deadList(opts: { json?: boolean }, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { key }) => {
    const all = await readAll(redis, key);
    if (opts.json) process.stdout.write(`${JSON.stringify(all.map((d) => ({ n: d.n, ...d.record, request: undefined, retryable: d.record.request !== undefined })), null, 2)}\n`);
    else process.stdout.write(all.length === 0 ? 'no dead letters\n' : `${all.map(summary).join('\n')}\n`);
    return EXIT.ok;
  });
}

export async function deadShow(selector: string, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { key }) => {
    process.stdout.write(`${JSON.stringify(pick(await readAll(redis, key), selector).record, null, 2)}\n`);
    return EXIT.ok;
  });
}

export async function deadRetry(selector: string, cmd: Command): Promise<number> {
  return withQueueRedis(cmd, async (redis, { key, prefix, queueName }) => {
    const chosen = pick(await readAll(redis, key), selector);
    const { request } = chosen.record;
    if (!request) throw new BotHostError('NOT_RETRYABLE', `dead letter ${chosen.record.inboundId} predates retries (it does not keep its message); \`bot queue dead show\` has what is known`);
    if ((await redis.lrem(key, 1, chosen.raw)) !== 1) {
      throw new BotHostError('NO_DEAD_LETTER', `dead letter ${chosen.record.inboundId} was retried or purged meanwhile; nothing done`);
    }
    process.stderr.write(`retrying ${chosen.record.inboundId} of ${chosen.record.sessionId}: ${chosen.raw}\n`);
    const queue = new BullMQTurnQueue({ client: redis, prefix, queueName });
    try {
      await queue.enqueue({ ...request, inbound: { ...request.inbound, receivedAt: Date.now() } });
    } finally {
      await queue.close();
    }
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
