/**
 * Distributed mode: `bot whatsapp` processes only ingest and deliver, a `bot worker` runs the
 * turns, replies go through the bot's durable outbox. Two ingress processes share the socket
 * through a Redis lease; the holder is SIGKILLed right after the messages were accepted, before
 * any reply exists. The other process takes the socket and delivers every reply from the outbox:
 * each message answered exactly once (I6), and nothing was ever sent by a process without the
 * socket.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, distributedSuite, fakeModelEnv, makeEnv, openRedis, SHARED_REDIS_URL, startWorker, uniqueNames, waitFor } from '../../helpers/distributed-harness.js';
import { startFakeWhatsAppServer, REMOTE_SOCKET_MODULE } from '../../helpers/fake-whatsapp-server.js';
import { FakeWhatsApp } from '../../helpers/fake-whatsapp-socket.js';
import { startCli } from '../../helpers/run-cli.js';
import { writeLinkedAuthDir } from '../../helpers/whatsapp-auth.js';
import { RedisSessionStore } from '../../../src/sessions/redis-session-store.js';

const suite = distributedSuite();
const USERS = ['4915100000001', '4915100000002', '4915100000003'];

describe('bot whatsapp with the BullMQ queue', () => {
  it('the socket holder dies before the replies exist: the next holder delivers them from the outbox, once each', async () => {
    const { prefix, queueName } = uniqueNames('wa-bull');
    suite.fake.setResponder((body) => {
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      return { text: `turn ${users.length}: ${String(users.at(-1)?.content ?? '')}`, delayMs: 2_500 };
    });
    const env = await makeEnv({ prefix, queueName, model: 'fake-model' }, { ...fakeModelEnv(suite.fake.url), REDIS_URL: SHARED_REDIS_URL });
    const server = await startFakeWhatsAppServer();
    const wa = server.wa;
    const authDir = path.join(env.sandbox.home, 'wa-auth');
    await writeLinkedAuthDir(authDir, FakeWhatsApp.SELF);
    const entry = ['bots:', '  - platform: whatsapp', `    id: ${prefix}`, `    auth_dir: ${JSON.stringify(authDir)}`, `    ws_url: ${JSON.stringify(server.url)}`, `    socket_module: ${JSON.stringify(REMOTE_SOCKET_MODULE)}`, '    send_interval_ms: 0', '    leader: redis', '    leader_ttl_ms: 2000', ''];
    await fsp.appendFile(env.configPath, entry.join('\n'));
    const redis = await openRedis();
    try {
      const worker = startWorker('w1', env);
      await worker.ready();
      const a = startCli(env.sandbox, ['--config', env.configPath, 'whatsapp'], { timeoutMs: 120_000 });
      await waitFor('the first socket', () => wa.socket !== undefined, { timeoutMs: 20_000, explain: () => a.stderr() });
      const b = startCli(env.sandbox, ['--config', env.configPath, 'whatsapp'], { timeoutMs: 120_000 });
      await b.waitForStderr(/waiting for this bot's connection lease/, { timeoutMs: 20_000 });

      for (const u of USERS) wa.userSays({ from: u, text: `hello from ${u}` });
      // Accepted (read receipts go out only then); the model is still thinking.
      await waitFor('all three accepted', () => wa.reads.length === USERS.length, { timeoutMs: 10_000, explain: () => a.stderr() });
      expect(wa.sent).toEqual([]);
      a.proc.kill('SIGKILL');

      await waitFor('every reply delivered', () => USERS.every((u) => wa.textsTo(u).length >= 1), { timeoutMs: 30_000, explain: () => b.stderr() });
      await new Promise((r) => setTimeout(r, 1_000));
      for (const u of USERS) expect(wa.textsTo(u)).toEqual([`turn 1: hello from ${u}`]);
      // Every reply went out on the second socket (the holder that died sent nothing).
      expect(new Set(wa.sent.map((s) => s.socket))).toEqual(new Set([1]));
      expect(wa.closes.filter((c) => c === 440)).toEqual([]);

      const store = new RedisSessionStore({ client: redis, prefix, maxMessages: 1_000 });
      for (const u of USERS) expect((await store.getChatHistory(`bot_whatsapp_${u}`)).map((m) => m.role)).toEqual(['user', 'assistant']);
      b.proc.kill('SIGTERM');
      expect((await b.exited(20_000)).code).toBe(0);
    } finally {
      await server.close();
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});
