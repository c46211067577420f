/**
 * The inbound spool end to end, for WhatsApp (it never sends a message again): a real
 * `bot whatsapp` (BullMQ queue, Redis store) on a private redis-server and the fake WhatsApp.
 * Redis is SIGKILLed; the bot keeps receiving messages and acknowledges each (read receipt) once
 * it is spooled on local disk; the bot is SIGKILLed; Redis comes back; a new `bot whatsapp`
 * replays the spool: every acknowledged message is answered exactly once, in order per chat.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { checkEchoLog, distributedSuite, makeEnv, openRedis, OwnRedis, range, startWorker, uniqueNames, waitFor } from '../helpers/distributed-harness.js';
import { REMOTE_SOCKET_MODULE, startFakeWhatsAppServer } from '../helpers/fake-whatsapp-server.js';
import { FakeWhatsApp } from '../helpers/fake-whatsapp-socket.js';
import { listTree, startCli, type LiveCli } from '../helpers/run-cli.js';
import { writeLinkedAuthDir } from '../helpers/whatsapp-auth.js';

distributedSuite();

const USERS = ['4915100000071', '4915100000072', '4915100000073'];
const DOWN_PER_USER = 4;
const READY = /whatsapp bot \+15550001111 running/;

describe('inbound spool: WhatsApp with Redis down, the bot SIGKILLed', () => {
  it('every message read-receipted while Redis was down is answered once, in order, after Redis and the bot restart', async () => {
    const redis = await OwnRedis.start();
    const server = await startFakeWhatsAppServer();
    const wa = server.wa;
    const { prefix, queueName } = uniqueNames('spool-wa');
    const env = await makeEnv({ prefix, queueName, redisUrl: redis.url });
    const authDir = path.join(env.sandbox.home, 'wa-auth');
    await writeLinkedAuthDir(authDir, FakeWhatsApp.SELF);
    // leader: none — with the Redis lease, an outage longer than its TTL would also close the socket.
    const entry = ['bots:', '  - platform: whatsapp', `    auth_dir: ${JSON.stringify(authDir)}`, `    ws_url: ${JSON.stringify(server.url)}`, `    socket_module: ${JSON.stringify(REMOTE_SOCKET_MODULE)}`, '    send_interval_ms: 0', '    leader: none', ''];
    await fsp.appendFile(env.configPath, entry.join('\n'));
    const spoolDir = path.join(env.sandbox.home, '.bothost', 'intake', 'spool');
    const clis: LiveCli[] = [];
    const start = async () => {
      const cli = startCli(env.sandbox, ['--config', env.configPath, 'whatsapp'], { timeoutMs: 120_000 });
      clis.push(cli);
      await cli.waitForStderr(READY, { timeoutMs: 20_000 });
      await wa.connected(15_000);
      return cli;
    };
    const replies = (u: string) => wa.textsTo(u).filter((t) => /^\[echo\] turn \d+: you said "/.test(t));
    try {
      const worker = startWorker('w1', env);
      await worker.ready();
      const a = await start();
      for (const u of USERS) wa.userSays({ from: u, text: `${u}-m0` });
      await waitFor('the first messages answered', () => USERS.every((u) => replies(u).length === 1), { timeoutMs: 20_000, explain: () => a.stderr().slice(-2000) });

      await redis.stop('SIGKILL');
      const readsBefore = wa.reads.length;
      for (const i of range(DOWN_PER_USER)) for (const u of USERS) wa.userSays({ from: u, text: `${u}-m${i + 1}` });
      // The read receipt is the acknowledgement: it goes out only once the message is spooled.
      await waitFor('every message of the outage read-receipted', () => wa.reads.length - readsBefore === USERS.length * DOWN_PER_USER, { timeoutMs: 20_000, explain: () => a.stderr().slice(-3000) });
      a.proc.kill('SIGKILL');
      await a.exited();
      expect((await listTree(spoolDir)).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);

      await redis.launch();
      const b = await start();
      await waitFor('every message answered after the restart', () => USERS.every((u) => replies(u).length === 1 + DOWN_PER_USER), { timeoutMs: 40_000, explain: () => b.stderr().slice(-3000) });
      expect(b.stderr()).toMatch(/"messages":12,"msg":"forwarding the messages a stopped process had spooled"/);

      const client = await openRedis(redis.url);
      try {
        const store = new RedisSessionStore({ client, prefix, maxMessages: 100_000 });
        for (const u of USERS) {
          const entries = await store.getEntries(`bot_whatsapp_${u}`);
          checkEchoLog(entries);
          expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(range(1 + DOWN_PER_USER).map((i) => `${u}-m${i}`));
          expect(new Set(replies(u)).size, `${u}: a reply sent twice`).toBe(replies(u).length);
        }
      } finally {
        client.disconnect();
      }
      b.proc.kill('SIGTERM');
      expect((await b.exited(20_000)).code).toBe(0);
      expect((await listTree(spoolDir)).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    } finally {
      for (const cli of clis) cli.proc.kill('SIGKILL');
      await server.close();
    }
  }, 120_000);
});
