/**
 * Distributed mode end to end: two `bot discord` processes on one token share Redis; only the
 * holder of the bot's leadership lease runs the gateway connection (and delivers replies from the
 * durable outbox); two `bot worker` processes run the turns. A worker is SIGKILLed mid-run, then
 * the leader: the other process takes the gateway over within about the lease TTL, and every
 * message is answered exactly once, in order, with its context (I1–I4), each reply posted once
 * (I6); neither the bot token nor an interaction token is in Redis (T30).
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../../src/sessions/redis-session-store.js';
import { checkEchoLog, deleteKeysWithPrefix, distributedSuite, keysWithPrefix, makeEnv, openRedis, range, startWorker, uniqueNames } from '../../helpers/distributed-harness.js';
import { FAKE_DISCORD_TOKEN, GENERAL_CHANNEL_ID, startFakeDiscord } from '../../helpers/fake-discord-server.js';
import { startCli, type LiveCli } from '../../helpers/run-cli.js';
import { CONNECTED, READY, sleep, until } from './harness.js';

distributedSuite();

const TTL = 1500;
const USERS = 3;
const PER_USER = 6;
const LEASE_ACQUIRED = /connection lease acquired; connecting/;

describe('bot discord with the BullMQ queue, two workers and two gateway candidates', () => {
  it('SIGKILL a worker mid-run and then the leader: the other process takes the gateway over; I1–I4 hold', async () => {
    const fake = await startFakeDiscord();
    const { prefix, queueName } = uniqueNames('dc-dist');
    const env = await makeEnv({ prefix, queueName, concurrency: 4 }, { DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN });
    await fsp.appendFile(env.configPath, ['bots:', '  - platform: discord', `    api_root: ${fake.url}`, `    leader_ttl_ms: ${TTL}`, '    typing_interval_ms: 300', ''].join('\n'));
    const redis = await openRedis();
    const clis: LiveCli[] = [];
    const start = async () => {
      const cli = startCli(env.sandbox, ['--config', env.configPath, 'discord'], { timeoutMs: 120_000 });
      clis.push(cli);
      await cli.waitForStderr(READY, { timeoutMs: 20_000 });
      return cli;
    };
    try {
      const w1 = startWorker('w1', env);
      const w2 = startWorker('w2', env);
      await Promise.all([w1.ready(), w2.ready()]);
      const a = await start();
      await a.waitForStderr(CONNECTED, { timeoutMs: 10_000 });
      const b = await start();
      expect(b.stderr()).toMatch(/waiting for this bot's connection lease/);
      expect(b.stderr()).not.toMatch(CONNECTED);

      const user = (u: number) => ({ id: String(1_300_000_000_000_000_300n + BigInt(u)), username: `u${u}` });
      const dmOf = (u: number) => fake.dmChannelOf(user(u).id);
      const answered = () => range(USERS).reduce((n, u) => n + new Set(fake.messages(dmOf(u)).filter((m) => /^\[echo\] turn \d+: you said "u\d+-m\d+"/.test(m.content)).map((m) => m.content)).size, 0);
      // Rounds of messages; the first worker dies while a round's turns are running.
      let killed = false;
      for (const i of range(PER_USER)) {
        for (const u of range(USERS)) fake.dm(user(u), `u${u}-m${i}`);
        if (!killed && i === 2) {
          await sleep(20);
          await w1.kill();
          killed = true;
        }
        await sleep(150);
      }
      await until('every message answered', () => answered() === USERS * PER_USER, 40_000, () => a.stderr().slice(-2000));
      // A slash command through the leader (deferred, answered from the outbox).
      const ask = fake.slash(user(0), 'ask', { args: { question: 'u0-m6' } });
      await until('slash answer', () => fake.messages(GENERAL_CHANNEL_ID).find((m) => m.interactionId === ask && /turn 7/.test(m.content)), 20_000);

      // The leader dies: B takes the gateway over within about the lease TTL.
      const killedAt = Date.now();
      a.proc.kill('SIGKILL');
      await b.waitForStderr(LEASE_ACQUIRED, { timeoutMs: TTL * 4 + 5_000 });
      await b.waitForStderr(CONNECTED, { timeoutMs: 10_000 });
      expect(Date.now() - killedAt).toBeLessThan(TTL * 2 + 5_000);
      expect(fake.gateway.identifies).toBe(2);
      expect(fake.gateway.maxStreaming).toBe(1);
      for (const u of range(USERS)) fake.dm(user(u), `u${u}-m7`);
      await until('answers through the new leader', () => range(USERS).every((u) => fake.messages(dmOf(u)).some((m) => /you said "u\d-m7"/.test(m.content))), 20_000, () => b.stderr().slice(-2000));

      const store = new RedisSessionStore({ client: redis, prefix, maxMessages: 100_000 });
      for (const u of range(USERS)) {
        const entries = await store.getEntries(`bot_discord_${user(u).id}`);
        const ids = checkEchoLog(entries); // I2, I3 (alternating), I4
        const expected = [...range(PER_USER).map((i) => `u${u}-m${i}`), ...(u === 0 ? ['u0-m6'] : []), `u${u}-m7`];
        expect(ids).toHaveLength(expected.length); // I1
        expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(expected); // I3
        // Each reply posted once.
        const texts = fake.messages(dmOf(u)).map((m) => m.content);
        expect(new Set(texts).size).toBe(texts.length);
      }
      expect(w2.alive).toBe(true);
      b.proc.kill('SIGTERM');
      const done = await b.exited(20_000);
      expect(done.code, done.stderr).toBe(0);
      for (const cli of clis) expect(cli.stdout() + cli.stderr()).not.toContain(FAKE_DISCORD_TOKEN);
      for (const w of [w1, w2]) expect(w.stderr()).not.toContain(FAKE_DISCORD_TOKEN);
      // The token and interaction tokens are nowhere in Redis keys or leases.
      const keys = (await keysWithPrefix(redis, prefix)).join(' ');
      expect(keys).not.toContain(FAKE_DISCORD_TOKEN.split('.')[1]!);
      const values: string[] = [];
      for (const key of [...(await keysWithPrefix(redis, prefix)), ...(await redis.keys(`bull:${queueName}:*`))]) {
        const type = await redis.type(key);
        if (type === 'stream') values.push(JSON.stringify(await redis.xrange(key, '-', '+')));
        if (type === 'list') values.push((await redis.lrange(key, 0, -1)).join('\n'));
        if (type === 'hash') values.push(JSON.stringify(await redis.hgetall(key)));
        if (type === 'string') values.push((await redis.get(key)) ?? '');
      }
      expect(values.join('\n')).toContain('u0-m6'); // the scan did see the turns
      for (const i of fake.interactions.values()) expect(values.join('\n')).not.toContain(i.token);
      expect(values.join('\n')).not.toContain(FAKE_DISCORD_TOKEN);
    } finally {
      for (const cli of clis) cli.proc.kill('SIGKILL');
      await fake.close();
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});
