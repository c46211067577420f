/**
 * The inbound spool in front of the real BullMQ queue, on a private redis-server stopped and
 * started by pid: order behind spooled turns, a re-forward after a restart deduped by the queue,
 * and a spool that cannot be written refusing (so the adapter does not acknowledge).
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import type { TurnRequest } from '../../src/core/turn-queue.js';
import { isQueueRefusal } from '../../src/host/queue-refusal.js';
import { BullMQTurnQueue } from '../../src/queue/bullmq-turn-queue.js';
import { inboxKeys } from '../../src/queue/inbox-keys.js';
import { SpoolingTurnQueue, type SpoolEvent } from '../../src/queue/inbound-spool.js';
import { FileIntake } from '../../src/queue/intake-log.js';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { createProcessLock } from '../../src/sessions/process-lock.js';
import { destroyOwnRedises, OwnRedis, uniqueNames } from '../helpers/redis-fixtures.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const tmp = new TempDirs();
const clients: Redis[] = [];
const queues: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const q of queues.splice(0).reverse()) await q.close().catch(() => undefined);
  for (const c of clients.splice(0)) c.disconnect();
  await destroyOwnRedises();
  await tmp.removeAll();
});

const SESSION = 'bot_spooltest_u1';
const req = (id: string): TurnRequest => ({
  sessionId: SESSION,
  agent: 'assistant',
  inbound: { platform: 'test', botId: 'b', chatId: 'c', userId: 'u1', messageId: id, text: `text ${id}`, isDirect: true, mentionsBot: true, receivedAt: 1 },
});

async function setUp() {
  const redis = await OwnRedis.start();
  const client = connectRedis(redis.url);
  client.on('error', () => undefined);
  clients.push(client);
  await client.ping();
  const { prefix, queueName } = uniqueNames('spool');
  const bull = new BullMQTurnQueue({ client, prefix, queueName, enqueueTimeoutMs: 1000 });
  bull.queue.on('error', () => undefined);
  queues.push(bull);
  const dir = path.join(await tmp.make(), 'spool');
  const events: SpoolEvent[] = [];
  const spoolOn = (intakeDir = dir) => {
    const spool = new SpoolingTurnQueue({ inner: bull, intake: new FileIntake({ dir: intakeDir, lock: createProcessLock() }), refused: isQueueRefusal, onEvent: (e) => events.push(e), retryMs: { initial: 100, max: 300 } });
    queues.push(spool);
    return spool;
  };
  const inbox = async () => (await client.lrange(inboxKeys(prefix, SESSION).inbox, 0, -1)).map((raw) => (JSON.parse(raw) as TurnRequest).inbound.messageId);
  const down = async () => {
    await redis.stop('SIGKILL');
    await waitFor('the client to notice the outage', () => client.status !== 'ready', { timeoutMs: 5000 });
  };
  const up = async () => {
    await redis.launch();
    await waitFor('the client to reconnect', () => client.status === 'ready', { timeoutMs: 10_000 });
  };
  return { client, bull, dir, events, spoolOn, inbox, down, up };
}

describe('SpoolingTurnQueue', () => {
  it('spools what the queue refuses and forwards it in order; a later message queues behind the spooled ones even once Redis is back', async () => {
    const t = await setUp();
    const spool = t.spoolOn();
    await spool.enqueue(req('m1'));
    await t.down();
    await spool.enqueue(req('m2'));
    await spool.enqueue(req('m3'));
    expect(spool.depth('b')).toBe(2);
    expect(t.events.filter((e) => e.type === 'spooled').map((e) => (e as { messageId: string }).messageId)).toEqual(['m2', 'm3']);
    await t.up();
    // The forwarder has not run yet (it waits between attempts): m4 must not overtake m2 and m3.
    await spool.enqueue(req('m4'));
    await waitFor('every turn in the inbox', async () => (await t.inbox()).length === 4);
    expect(await t.inbox()).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(spool.depth('b')).toBe(0);
    await spool.close();
    expect(existsSync(t.dir)).toBe(false); // every spooled turn forwarded: the files are gone
  });

  it('a restarted process forwards what the last one spooled; a turn the queue already holds is not queued twice', async () => {
    const t = await setUp();
    const first = t.spoolOn();
    await t.down();
    for (const id of ['m1', 'm2', 'm3']) await first.enqueue(req(id));
    await first.close(); // as after a crash: the files stay, with nothing marked forwarded
    expect((await fsp.readdir(t.dir)).filter((n) => n.endsWith('.jsonl'))).toHaveLength(1);
    await t.up();
    // m1 reached the queue before the "crash" (forwarded, its removal not yet recorded).
    await t.bull.enqueue(req('m1'));
    const second = t.spoolOn();
    await second.replay('b');
    expect(t.events).toContainEqual({ type: 'replayed', botId: 'b', count: 3 });
    await waitFor('the spool forwarded', () => second.depth('b') === 0);
    expect(await t.inbox()).toEqual(['m1', 'm2', 'm3']);
    await second.close();
    expect(existsSync(t.dir)).toBe(false);
  });

  it('a spool that cannot be written refuses the turn, so the platform is not told it was received', async () => {
    const t = await setUp();
    const blocker = path.join(await tmp.make(), 'not-a-directory');
    await fsp.writeFile(blocker, '');
    const spool = t.spoolOn(path.join(blocker, 'spool'));
    await t.down();
    const err = await spool.enqueue(req('m1')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/could not create the intake file .*not-a-directory/);
    expect(isQueueRefusal(err)).toBe(true);
    expect(spool.depth('b')).toBe(0);
  });
});
