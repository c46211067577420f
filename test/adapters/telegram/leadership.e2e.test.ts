/**
 * Only one `bot telegram` process long-polls a token at a time (no 409 storms): the Redis lease
 * keyed by the bot id. The leader is SIGKILLed; the other process takes over within about the
 * lease TTL and the conversation continues (sessions in a shared Redis store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deleteKeysWithPrefix, keysWithPrefix, openRedis, SHARED_REDIS_URL, uniqueNames } from '../../helpers/distributed-harness.js';
import { FAKE_TOKEN } from '../../helpers/fake-telegram-server.js';
import type { LiveCli } from '../../helpers/run-cli.js';
import { replyMatching, startTelegram, stopCli, telegramYaml, until, useTelegram, writeConfig } from './harness.js';

const t = useTelegram();
let redis: Redis;
const { prefix } = uniqueNames('tg-lead');
beforeAll(async () => {
  redis = await openRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const LEADER = /connection lease acquired/;
const USER = { id: 7070, username: 'erin' };
const dm = { id: USER.id, type: 'private' as const };
const TTL = 1500;

describe('bot telegram: polling leadership', () => {
  it('two processes: one polls; SIGKILL it and the other takes over within the lease TTL; never two pollers', async () => {
    await writeConfig(
      t.sb,
      telegramYaml({
        apiRoot: t.fake.url,
        top: `agents: { assistant: { model: echo } }\nstore: { backend: redis, url: "${SHARED_REDIS_URL}", prefix: "${prefix}" }`,
        entry: { leader_ttl_ms: TTL },
      }),
    );
    const a = await startTelegram(t.sb);
    await a.waitForStderr(LEADER, { timeoutMs: 10_000 });
    const b = await startTelegram(t.sb);
    expect(b.stderr()).toMatch(/waiting for this bot's connection lease/);

    t.fake.userSays({ chat: dm, from: USER, text: 'my name is Erin' });
    await until('turn 1', () => replyMatching(t.fake, USER.id, /turn 1/));
    // B is not polling: it never got leadership while A lives.
    await new Promise((r) => setTimeout(r, TTL * 2));
    expect(b.stderr()).not.toMatch(LEADER);
    expect(t.fake.conflicts).toBe(0);
    // The lease is keyed by the bot id, never by the token.
    const keys = await keysWithPrefix(redis, `${prefix}:leader`);
    expect(keys.some((k) => k.includes('telegram'))).toBe(true);
    expect(keys.join(' ')).not.toContain(FAKE_TOKEN.split(':')[1]);

    const killedAt = Date.now();
    a.proc.kill('SIGKILL');
    await b.waitForStderr(LEADER, { timeoutMs: TTL * 4 + 5_000 });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(TTL * 2 + 3_000);

    t.fake.userSays({ chat: dm, from: USER, text: "what's my name?" });
    const second = await until('turn 2 after takeover', () => replyMatching(t.fake, USER.id, /turn 2/));
    expect(second.visible).toMatch(/Your name is Erin/);

    // A comes back: it waits; B keeps polling; still one poller at a time.
    const a2: LiveCli = await startTelegram(t.sb);
    t.fake.userSays({ chat: dm, from: USER, text: 'third' });
    await until('turn 3', () => replyMatching(t.fake, USER.id, /turn 3/));
    expect(a2.stderr()).not.toMatch(LEADER);
    expect(t.fake.conflicts).toBe(0);
    expect(t.fake.messages(USER.id).filter((m) => /\[echo\]/.test(m.visible))).toHaveLength(3);

    // A graceful stop releases the lease at once: A takes over without waiting for the TTL.
    const stoppedAt = Date.now();
    await stopCli(b);
    await a2.waitForStderr(LEADER, { timeoutMs: TTL * 4 + 5_000 });
    expect(Date.now() - stoppedAt).toBeLessThan(TTL + 3_000);
    await stopCli(a2);
  });
});
