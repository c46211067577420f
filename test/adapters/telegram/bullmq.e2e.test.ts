/**
 * Distributed mode end to end: `bot telegram` with `queue.backend: bullmq` only ingests and
 * delivers; two `bot worker` processes run the turns, one is SIGKILLed mid-run. Every message is
 * answered on Telegram, and each session's log holds I1 (no loss), I2 (each message once), I3
 * (send order) and I4 (reply k produced from the k−1 earlier turns).
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkEchoLog,
  deleteKeysWithPrefix,
  distributedSuite,
  fakeModelEnv,
  keysWithPrefix,
  makeEnv,
  openRedis,
  overlapTrackingResponder,
  range,
  sleep,
  startWorker,
  uniqueNames,
} from '../../helpers/distributed-harness.js';
import { FAKE_TOKEN } from '../../helpers/fake-telegram-server.js';
import { startCliUntilReady } from '../../helpers/platform-e2e.js';
import { RedisSessionStore } from '../../../src/sessions/redis-session-store.js';
import { fakeTelegramPerTest, FAST_TELEGRAM, READY, until } from './harness.js';

const suite = distributedSuite();
const telegram = fakeTelegramPerTest();

const USERS = 4;
const PER_USER = 10;

describe('bot telegram with the BullMQ queue and two workers', () => {
  it('one worker SIGKILLed mid-run: every message answered, I1–I4 hold per session', async () => {
    const { fake } = telegram;
    const { prefix, queueName } = uniqueNames('tg-bull');
    // Echo-like fake model (`turn N: you said "…"`, N = user messages it saw) taking ~60 ms, so
    // the kill lands while turns are running; it also records overlapping calls per session.
    const { responder, stats } = overlapTrackingResponder((text) => text.split('-')[0]!, () => 40 + Math.random() * 40);
    suite.fake.setResponder(responder);
    const env = await makeEnv({ prefix, queueName, concurrency: 4, model: 'fake-model' }, { ...fakeModelEnv(suite.fake.url), TELEGRAM_BOT_TOKEN: FAKE_TOKEN });
    await fsp.appendFile(env.configPath, ['bots:', '  - platform: telegram', `    api_root: ${fake.url}`, ...Object.entries(FAST_TELEGRAM).map(([k, v]) => `    ${k}: ${v}`), ''].join('\n'));
    const redis = await openRedis();
    try {
      const w1 = startWorker('w1', env);
      const w2 = startWorker('w2', env);
      await Promise.all([w1.ready(), w2.ready()]);
      const cli = await startCliUntilReady(env.sandbox, ['--config', env.configPath, 'telegram'], READY);

      const userId = (u: number) => 9000 + u;
      const answered = () => range(USERS).reduce((n, u) => n + new Set(fake.messages(userId(u)).filter((m) => /^\[echo\] turn \d+/.test(m.visible)).map((m) => m.visible)).size, 0);
      // Users send in rounds (as people do, a message every so often). Once a quarter is
      // answered, the kill lands right after a round is sent, while its turns run (~60 ms each).
      let killed = false;
      let sent = 0;
      const killMidRound = async () => {
        await sleep(15);
        // Mid-run: turns were still waiting or running when the worker died.
        expect(answered()).toBeLessThan(sent);
        await w1.kill();
        killed = true;
      };
      for (const i of range(PER_USER)) {
        for (const u of range(USERS)) fake.userSays({ chat: { id: userId(u), type: 'private' }, from: { id: userId(u), username: `u${u}` }, text: `u${u}-m${i}` });
        sent += USERS;
        if (!killed && answered() >= (USERS * PER_USER) / 4) await killMidRound();
        await sleep(120);
      }
      // A slow machine: a quarter was not answered while sending; the kill lands before the rest is.
      if (!killed) await killMidRound();
      await until('every message answered', () => answered() === USERS * PER_USER, 60_000);

      const store = new RedisSessionStore({ client: redis, prefix, maxMessages: 100_000 });
      for (const u of range(USERS)) {
        const entries = await store.getEntries(`bot_telegram_${userId(u)}`);
        const ids = checkEchoLog(entries); // I2, I3 (alternating), I4
        expect(ids).toHaveLength(PER_USER); // I1
        // I3: in send order.
        expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(range(PER_USER).map((i) => `u${u}-m${i}`));
        // Every reply shown on Telegram is the committed one (no reply from a lost turn).
        const shown = new Set(fake.messages(userId(u)).map((m) => m.visible));
        for (const e of entries.filter((x) => x.role === 'assistant')) expect(shown.has(e.content)).toBe(true);
      }
      expect(stats.overlaps).toEqual([]);
      // T30: the token is nowhere in Redis (job data, inboxes, sessions, leases).
      for (const key of await keysWithPrefix(redis, prefix)) {
        const type = await redis.type(key);
        const value =
          type === 'string' ? await redis.get(key)
          : type === 'list' ? (await redis.lrange(key, 0, -1)).join('\n')
          : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
          : type === 'zset' ? (await redis.zrange(key, 0, -1)).join('\n')
          : type === 'set' ? (await redis.smembers(key)).join('\n')
          : type === 'stream' ? JSON.stringify(await redis.xrange(key, '-', '+'))
          : '';
        expect(`${key} ${value ?? ''}`).not.toContain(FAKE_TOKEN.split(':')[1]);
      }
      expect(w2.alive).toBe(true);
      cli.proc.kill('SIGTERM');
      const done = await cli.exited(20_000);
      expect(done.code, done.stderr).toBe(0);
      expect(done.all).not.toContain(FAKE_TOKEN);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});
