/**
 * T06/T08 (docs/reliability.md) for Telegram: `bot telegram` in BullMQ mode with its own redis-server,
 * which is killed while a user writes and restarted. While Redis is down the update is not
 * confirmed (the queue refused it, leadership cannot be proven); once Redis is back it is fetched
 * again and answered exactly once, in order. In webhook mode the first delivery is refused (503)
 * and the redelivery is processed once (T21).
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkEchoLog, distributedSuite, freePort, makeEnv, openRedis, OwnRedis, startWorker, uniqueNames } from '../../helpers/distributed-harness.js';
import { FAKE_TOKEN } from '../../helpers/fake-telegram-server.js';
import { startCliUntilReady } from '../../helpers/platform-e2e.js';
import { RedisSessionStore } from '../../../src/sessions/redis-session-store.js';
import { fakeTelegramPerTest, FAST_TELEGRAM, READY, replyMatching, until } from './harness.js';

distributedSuite();
const telegram = fakeTelegramPerTest();

const USER = { id: 8080, username: 'frank' };
const dm = { id: USER.id, type: 'private' as const };
/** What `bot telegram` logs when an update meets the outage. */
const OUTAGE_SEEN = /update not accepted \(queue unavailable\)|leadership lost|leadership: Redis unavailable/;

describe('bot telegram (BullMQ) through a Redis outage', () => {
  it('a message sent while Redis is down is answered once Redis is back, exactly once, in order', async () => {
    const { fake } = telegram;
    const redis = await OwnRedis.start(['--maxmemory-policy', 'noeviction']);
    const { prefix, queueName } = uniqueNames('tg-outage');
    const env = await makeEnv({ prefix, queueName, redisUrl: redis.url }, { TELEGRAM_BOT_TOKEN: FAKE_TOKEN });
    await fsp.appendFile(env.configPath, ['bots:', '  - platform: telegram', `    api_root: ${fake.url}`, '    leader_ttl_ms: 1500', ...Object.entries(FAST_TELEGRAM).map(([k, v]) => `    ${k}: ${v}`), ''].join('\n'));
    const worker = startWorker('w1', env);
    await worker.ready();
    const cli = await startCliUntilReady(env.sandbox, ['--config', env.configPath, 'telegram'], READY);

    fake.userSays({ chat: dm, from: USER, text: 'before the outage' });
    await until('turn 1', () => replyMatching(fake, USER.id, /turn 1: you said "before the outage"/), 20_000);

    await redis.stop('SIGKILL');
    fake.userSays({ chat: dm, from: USER, text: 'during the outage' });
    // Redis stays down until the bot has met the outage (an update refused or leadership lost):
    // a fixed pause could end before the update was even fetched.
    await until('the bot meets the outage', () => OUTAGE_SEEN.test(cli.stderr()), 20_000);
    expect(replyMatching(fake, USER.id, /during the outage/)).toBeUndefined();
    await redis.launch();
    await until('turn 2 after the restart', () => replyMatching(fake, USER.id, /turn 2: you said "during the outage"/), 45_000);
    fake.userSays({ chat: dm, from: USER, text: 'after the outage' });
    await until('turn 3', () => replyMatching(fake, USER.id, /turn 3: you said "after the outage"/), 30_000);

    const client = await openRedis(redis.url);
    try {
      const entries = await new RedisSessionStore({ client, prefix, maxMessages: 1000 }).getEntries(`bot_telegram_${USER.id}`);
      checkEchoLog(entries);
      expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(['before the outage', 'during the outage', 'after the outage']);
    } finally {
      client.disconnect();
    }
    cli.proc.kill('SIGTERM');
    const done = await cli.exited(20_000);
    expect(done.code, done.stderr).toBe(0);
  });

  it('webhook mode: while Redis is down the webhook answers 503 (Telegram redelivers); afterwards the update is answered once', async () => {
    const { fake } = telegram;
    const redis = await OwnRedis.start(['--maxmemory-policy', 'noeviction']);
    const { prefix, queueName } = uniqueNames('tg-outage-wh');
    const env = await makeEnv({ prefix, queueName, redisUrl: redis.url }, { TELEGRAM_BOT_TOKEN: FAKE_TOKEN });
    const port = await freePort();
    await fsp.appendFile(
      env.configPath,
      ['bots:', '  - platform: telegram', `    api_root: ${fake.url}`, '    mode: webhook', `    webhook: { url: "http://127.0.0.1:${port}/hook", secret: outage-secret, port: ${port} }`, ...Object.entries(FAST_TELEGRAM).map(([k, v]) => `    ${k}: ${v}`), ''].join('\n'),
    );
    const worker = startWorker('w1', env);
    await worker.ready();
    const cli = await startCliUntilReady(env.sandbox, ['--config', env.configPath, 'telegram'], READY);
    fake.userSays({ chat: dm, from: USER, text: 'hook before' });
    await until('turn 1', () => replyMatching(fake, USER.id, /turn 1: you said "hook before"/), 20_000);

    await redis.stop('SIGKILL');
    const id = fake.userSays({ chat: dm, from: USER, text: 'hook during' });
    await until('a refused delivery', () => (fake.webhookAttempts.get(id) ?? []).some((s) => s >= 500), 20_000);
    expect(fake.webhookAttempts.get(id)!.every((s) => s === 503), `attempts: ${fake.webhookAttempts.get(id)!.join(', ')}`).toBe(true);
    await redis.launch();
    await until('turn 2 after the restart', () => replyMatching(fake, USER.id, /turn 2: you said "hook during"/), 45_000);
    // The reply can overtake the 200 on its way back to the fake: wait for the ack too.
    await until('the accepted delivery', () => fake.webhookAttempts.get(id)!.at(-1) === 200, 10_000);

    const client = await openRedis(redis.url);
    try {
      const entries = await new RedisSessionStore({ client, prefix, maxMessages: 1000 }).getEntries(`bot_telegram_${USER.id}`);
      checkEchoLog(entries);
      expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(['hook before', 'hook during']);
    } finally {
      client.disconnect();
    }
    expect(cli.stderr()).toMatch(/telegram will deliver it again/);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited(20_000)).code).toBe(0);
  });
});
