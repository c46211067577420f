/**
 * Distributed mode end to end: two `bot slack` ingress processes (HTTP events, as behind a load
 * balancer) with `queue.backend: bullmq`, two `bot worker` processes, one SIGKILLed mid-run.
 * Every message — each also retried by "Slack" to the other ingress (T36) — is answered exactly
 * once, replies go out from the bot's durable outbox, one each (I6), and each session's log
 * holds I1–I4.
 * Streamed previews are off in the first test (a long edit interval, to keep its timing simple);
 * the second streams every reply from the ingress that received it while either ingress may
 * deliver the final: no stale preview may be left beside a final reply.
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../../src/sessions/redis-session-store.js';
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
import { FAKE_SLACK, startFakeSlack } from '../../helpers/fake-slack-server.js';
import type { LiveCli } from '../../helpers/run-cli.js';
import { assertNoSecrets, freePort, SLACK_ENV, slackEntry, startSlack, until } from './harness.js';

const suite = distributedSuite();

const USERS = 4;
const PER_USER = 8;

/** SIGTERM each ingress: a clean exit (0) and no secret in anything it printed. */
async function stopIngresses(ingresses: LiveCli[]): Promise<void> {
  for (const c of ingresses) {
    c.proc.kill('SIGTERM');
    const done = await c.exited(20_000);
    expect(done.code, done.stderr).toBe(0);
    assertNoSecrets(done.all);
  }
}

describe('bot slack with the BullMQ queue, two ingress processes and two workers', () => {
  it('a worker SIGKILLed mid-run, every event retried to the other ingress: each message answered once', async () => {
    const fake = await startFakeSlack();
    const { prefix, queueName } = uniqueNames('slack-bull');
    const { responder, stats } = overlapTrackingResponder((text) => text.split('-')[0]!, () => 40 + Math.random() * 40);
    suite.fake.setResponder(responder);
    const env = await makeEnv({ prefix, queueName, concurrency: 4, model: 'fake-model' }, { ...fakeModelEnv(suite.fake.url), ...SLACK_ENV });
    const ports = [await freePort(), await freePort()];
    const base = await fsp.readFile(env.configPath, 'utf8');
    const configs = await Promise.all(
      ports.map(async (port, i) => {
        const file = env.configPath.replace(/\.yaml$/, `-${i}.yaml`);
        await fsp.writeFile(file, [base, 'bots:', ...slackEntry({ apiUrl: fake.apiUrl, mode: 'http', port }).map((l) => l.replace('stream_edit_interval_ms: 150', 'stream_edit_interval_ms: 600000')), ''].join('\n'));
        return file;
      }),
    );
    const redis = await openRedis();
    try {
      const w1 = startWorker('w1', env);
      const w2 = startWorker('w2', env);
      await Promise.all([w1.ready(), w2.ready()]);
      const ingresses = await Promise.all(configs.map((file) => startSlack(env.sandbox, ['--config', file])));
      const targets = ports.map((p) => `http://127.0.0.1:${p}/slack/events`);

      const user = (u: number) => `UDIST00${u}`;
      const channel = (u: number) => `DDIST00${u}`;
      const replies = (u: number) => fake.botMessages(channel(u)).filter((m) => /^\[echo\] turn \d+/.test(m.text));
      const answered = () => range(USERS).reduce((n, u) => n + replies(u).length, 0);
      let killed = false;
      let sent = 0;
      for (const i of range(PER_USER)) {
        await Promise.all(
          range(USERS).map(async (u) => {
            const said = fake.userSays({ user: user(u), channel: channel(u), text: `u${u}-m${i}` });
            // Slack delivers to one ingress and (its answer "lost") retries to the other.
            const first = (u + i) % 2;
            await fake.deliver(targets[first]!, said.message, { retries: false });
            await fake.deliver(targets[1 - first]!, said.message, { retryNum: 1, retries: false });
          }),
        );
        sent += USERS;
        if (!killed && answered() >= (USERS * PER_USER) / 4) {
          await sleep(15);
          expect(answered()).toBeLessThan(sent);
          await w1.kill();
          killed = true;
        }
        await sleep(120);
      }
      if (!killed) await w1.kill();
      await until('every message answered', () => answered() >= USERS * PER_USER, 60_000, () => JSON.stringify(range(USERS).map((u) => fake.botMessages(channel(u)).map((m) => [m.text, m.edits, m.metadata?.event_payload]))));
      await sleep(1500);

      const store = new RedisSessionStore({ client: redis, prefix, maxMessages: 100_000 });
      for (const u of range(USERS)) {
        const entries = await store.getEntries(`bot_slack_${user(u)}`);
        const ids = checkEchoLog(entries); // I2, I3, I4
        expect(ids).toHaveLength(PER_USER); // I1
        expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(range(PER_USER).map((i) => `u${u}-m${i}`));
        // Exactly one reply per message, each the committed one.
        const shown = replies(u).map((m) => m.text);
        expect(shown).toHaveLength(PER_USER);
        expect(new Set(shown).size).toBe(PER_USER);
        for (const e of entries.filter((x) => x.role === 'assistant')) expect(shown).toContain(e.content);
      }
      expect(stats.overlaps).toEqual([]);
      for (const key of await keysWithPrefix(redis, prefix)) expect(key).not.toContain(FAKE_SLACK.botToken);
      expect(w2.alive).toBe(true);
      await stopIngresses(ingresses);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
      await fake.close();
    }
  }, 120_000);

  it('streaming with two ingress processes: whichever delivers the final, one message per reply and no stale preview', async () => {
    const fake = await startFakeSlack();
    const { prefix, queueName } = uniqueNames('slack-stream');
    const words = range(14).map((w) => `w${w}`).join(' ');
    suite.fake.setResponder((body) => {
      const last = String(body.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '');
      return { text: `answer to ${last}: ${words} end.`, delayMs: 20 + Math.floor(Math.random() * 30) };
    });
    const env = await makeEnv({ prefix, queueName, concurrency: 4, model: 'fake-model' }, { ...fakeModelEnv(suite.fake.url), ...SLACK_ENV });
    const ports = [await freePort(), await freePort()];
    const base = await fsp.readFile(env.configPath, 'utf8');
    const configs = await Promise.all(
      ports.map(async (port, i) => {
        const file = env.configPath.replace(/\.yaml$/, `-s${i}.yaml`);
        await fsp.writeFile(file, [base, 'bots:', ...slackEntry({ apiUrl: fake.apiUrl, mode: 'http', port }).map((l) => l.replace(/interval_ms: 150/, 'interval_ms: 60')), ''].join('\n'));
        return file;
      }),
    );
    const redis = await openRedis();
    try {
      const worker = startWorker('ws', env);
      await worker.ready();
      const ingresses = await Promise.all(configs.map((file) => startSlack(env.sandbox, ['--config', file])));
      const targets = ports.map((p) => `http://127.0.0.1:${p}/slack/events`);
      const channel = (u: number) => `DSTREAM${u}`;
      const finals = () => range(USERS).flatMap((u) => fake.botMessages(channel(u))).filter((m) => m.text.endsWith('end.'));
      const TURNS = 6;
      for (const i of range(TURNS)) {
        // From half-way on, the delivering ingress cannot search the channel, so it posts the final
        // as a new message: the streaming ingress must then delete its preview.
        if (i === TURNS / 2) fake.failNext('conversations.history', { error: 'internal_error' }, 10_000);
        await Promise.all(range(USERS).map((u) => fake.deliver(targets[(u + i) % 2]!, fake.userSays({ user: `USTREAM${u}`, channel: channel(u), text: `u${u}-m${i}` }).message, { retries: false })));
        await sleep(250);
      }
      await until('every message answered', () => finals().length >= USERS * TURNS, 60_000);
      // Time for any late preview to appear (three edit intervals and then some).
      await sleep(1500);
      const streamed = range(USERS).flatMap((u) => fake.botMessages(channel(u))).filter((m) => m.edits > 0 || m.history.length > 1);
      expect(streamed.length, 'replies were streamed (edited from a preview)').toBeGreaterThan(0);
      for (const u of range(USERS)) {
        const texts = fake.botMessages(channel(u)).map((m) => m.text);
        expect(texts, `channel ${channel(u)}`).toEqual(range(TURNS).map((i) => `answer to u${u}-m${i}: ${words} end.`));
      }
      expect(fake.deleted.length, 'previews made redundant by a final posted elsewhere were deleted').toBeGreaterThan(0);
      await stopIngresses(ingresses);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
      await fake.close();
    }
  }, 120_000);
});
