/**
 * The inbound spool end to end, for Discord (its gateway never sends a message again): a real
 * `bot discord` (BullMQ queue, Redis store) on a private redis-server and the fake Discord.
 * Redis is SIGKILLed; the bot keeps receiving DMs and spools them on local disk; the bot is
 * SIGKILLed too; Redis comes back; a new `bot discord` replays the spool: every message is
 * answered exactly once, in order per user, with its context, and the spool ends up empty.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { checkEchoLog, distributedSuite, makeEnv, openRedis, OwnRedis, range, startWorker, uniqueNames } from '../helpers/distributed-harness.js';
import { FAKE_DISCORD_TOKEN, startFakeDiscord } from '../helpers/fake-discord-server.js';
import { listTree, startCli, type LiveCli } from '../helpers/run-cli.js';
import { sleep, until } from '../helpers/wait-for.js';
import { CONNECTED, READY } from '../adapters/discord/harness.js';

distributedSuite();

const USERS = 3;
const DOWN_PER_USER = 4;
const SPOOLED = /"msg":"message spooled on local disk/g;

describe('inbound spool: Discord with Redis down, the bot SIGKILLed', () => {
  it('every message received while Redis was down is answered once, in order, after Redis and the bot restart', async () => {
    const redis = await OwnRedis.start();
    const fake = await startFakeDiscord();
    const { prefix, queueName } = uniqueNames('spool-dc');
    const env = await makeEnv({ prefix, queueName, redisUrl: redis.url }, { DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN });
    // leader: none — with the Redis lease, an outage longer than its TTL would also drop the gateway.
    await fsp.appendFile(env.configPath, ['bots:', '  - platform: discord', `    api_root: ${fake.url}`, '    leader: none', '    typing_interval_ms: 300', ''].join('\n'));
    const spoolDir = path.join(env.sandbox.home, '.bothost', 'intake', 'spool');
    const clis: LiveCli[] = [];
    const start = async () => {
      const cli = startCli(env.sandbox, ['--config', env.configPath, 'discord'], { timeoutMs: 120_000 });
      clis.push(cli);
      await cli.waitForStderr(READY, { timeoutMs: 20_000 });
      await cli.waitForStderr(CONNECTED, { timeoutMs: 10_000 });
      return cli;
    };
    const user = (u: number) => ({ id: String(1_300_000_000_000_000_700n + BigInt(u)), username: `s${u}` });
    const replies = (u: number) => fake.messages(fake.dmChannelOf(user(u).id)).map((m) => m.content).filter((c) => /^\[echo\] turn \d+: you said "s\d+-m\d+"/.test(c));
    try {
      const worker = startWorker('w1', env);
      await worker.ready();
      const a = await start();
      for (const u of range(USERS)) fake.dm(user(u), `s${u}-m0`);
      await until('the first messages answered', () => range(USERS).every((u) => replies(u).length === 1), 20_000, () => a.stderr().slice(-2000));

      await redis.stop('SIGKILL');
      for (const i of range(DOWN_PER_USER)) {
        for (const u of range(USERS)) fake.dm(user(u), `s${u}-m${i + 1}`);
        await sleep(40);
      }
      await until('every message of the outage spooled', () => (a.stderr().match(SPOOLED) ?? []).length === USERS * DOWN_PER_USER, 20_000, () => a.stderr().slice(-3000));
      a.proc.kill('SIGKILL');
      await a.exited();
      expect((await listTree(spoolDir)).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
      expect(range(USERS).map((u) => replies(u).length)).toEqual(range(USERS).map(() => 1));

      await redis.launch();
      const b = await start();
      await until('every message answered after the restart', () => range(USERS).every((u) => replies(u).length === 1 + DOWN_PER_USER), 40_000, () => b.stderr().slice(-3000));
      expect(b.stderr()).toMatch(/"messages":12,"msg":"forwarding the messages a stopped process had spooled"/);

      const client = await openRedis(redis.url);
      try {
        const store = new RedisSessionStore({ client, prefix, maxMessages: 100_000 });
        for (const u of range(USERS)) {
          const entries = await store.getEntries(`bot_discord_${user(u).id}`);
          checkEchoLog(entries); // each message once, one turn at a time, with its context
          expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(range(1 + DOWN_PER_USER).map((i) => `s${u}-m${i}`));
          const texts = replies(u);
          expect(new Set(texts).size, `user ${u}: a reply posted twice`).toBe(texts.length);
        }
      } finally {
        client.disconnect();
      }
      b.proc.kill('SIGTERM');
      const done = await b.exited(20_000);
      expect(done.code, done.stderr.slice(-2000)).toBe(0);
      // Forwarded and stopped gracefully: nothing is left in the spool.
      expect((await listTree(spoolDir)).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    } finally {
      for (const cli of clis) cli.proc.kill('SIGKILL');
      await fake.close();
    }
  }, 120_000);
});
