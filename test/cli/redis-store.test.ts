/**
 * The same CLI promises with `store.backend: redis`: resume across processes, session commands
 * that exit promptly (an open Redis client must not keep them alive), concurrent writers.
 * Needs Redis at REDIS_URL (default redis://127.0.0.1:6379); fails loudly without it.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, killAllCli, makeSandbox, runCli, runCliJson, type Sandbox } from '../helpers/run-cli.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let sb: Sandbox;
let prefix: string;
let args: (...rest: string[]) => string[];

async function dropPrefix(p: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

beforeAll(() => assertBuilt());
beforeEach(async () => {
  sb = await makeSandbox();
  prefix = `bothost-cli-test-${randomUUID().slice(0, 8)}`;
  const config = path.join(sb.cwd, 'redis.yaml');
  await fsp.writeFile(config, `store:\n  backend: redis\n  url: ${JSON.stringify(REDIS_URL)}\n  prefix: ${prefix}\n`);
  args = (...rest) => ['--config', config, ...rest];
});
afterEach(async () => {
  killAllCli();
  await sb.cleanup();
  await dropPrefix(prefix);
});
afterAll(() => killAllCli());

describe('bot chat and bot session with the Redis store', () => {
  it('resumes across processes, keeps the cursor across clear, and every command exits promptly', async () => {
    const first = await runCli(sb, args('chat', '--session', 'demo', '--message', 'My name is Alice'), { timeoutMs: 15_000 });
    expect(first.code, `${first.stderr}\n(is Redis running at ${REDIS_URL}?)`).toBe(0);
    const second = await runCliJson<{ reply: string; cursor: number }>(sb, args('chat', '--session', 'demo', '--message', "What's my name?", '--json'));
    expect(second.cursor).toBe(4);
    expect(second.reply).toContain('turn 2');
    expect(second.reply).toContain('Your name is Alice');

    // Nothing went to the file store.
    await expect(fsp.access(sb.sessionsDir)).rejects.toThrow();

    const [list, show, missing, clearMissing] = await Promise.all([
      runCliJson<Array<{ id: string; lastCursor: number }>>(sb, args('session', 'list', '--json')),
      runCliJson<{ entries: Array<{ cursor: number; role: string }> }>(sb, args('session', 'show', 'demo', '--json')),
      runCli(sb, args('session', 'show', 'nope'), { timeoutMs: 10_000 }),
      runCli(sb, args('session', 'clear', 'nope'), { timeoutMs: 10_000 }),
    ]);
    expect(list).toEqual([expect.objectContaining({ id: 'demo', lastCursor: 4 })]);
    expect(show.entries.map((e) => [e.cursor, e.role])).toEqual([
      [1, 'user'],
      [2, 'assistant'],
      [3, 'user'],
      [4, 'assistant'],
    ]);
    // An early exit path must close the Redis client too, or the process never ends.
    for (const r of [missing, clearMissing]) {
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(1);
      expect(r.all).toMatch(/no session "nope"/);
    }

    expect((await runCli(sb, args('session', 'clear', 'demo'))).code).toBe(0);
    const afterClear = await runCliJson<{ session: { lastCursor: number }; entries: unknown[] }>(sb, args('session', 'show', 'demo', '--json'));
    expect(afterClear.entries).toEqual([]);
    expect(afterClear.session.lastCursor).toBe(4);
    const next = await runCliJson<{ cursor: number; reply: string }>(sb, args('chat', '--session', 'demo', '--message', 'hello again', '--json'));
    expect(next.cursor).toBe(6);
    expect(next.reply).toContain('turn 1');

    expect((await runCli(sb, args('session', 'delete', 'demo'))).code).toBe(0);
    const gone = await runCli(sb, args('session', 'show', 'demo'), { timeoutMs: 10_000 });
    expect(gone.timedOut).toBe(false);
    expect(gone.code).toBe(1);
  });

  it('4 concurrent chat processes on one session: 8 entries, each user message followed by its reply', async () => {
    const results = await Promise.all([0, 1, 2, 3].map((i) => runCli(sb, args('chat', '--session', 'same', '--message', `m${i}`, '--json'))));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const show = await runCliJson<{ entries: Array<{ cursor: number; role: string; content: string }> }>(sb, args('session', 'show', 'same', '--json'));
    expect(show.entries.map((e) => e.cursor)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(show.entries.filter((e) => e.role === 'user').map((e) => e.content).sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    for (let i = 0; i < 8; i += 2) {
      expect(show.entries[i]!.role).toBe('user');
      expect(show.entries[i + 1]!.role).toBe('assistant');
      expect(show.entries[i + 1]!.content).toContain(`you said "${show.entries[i]!.content}"`);
    }
  });
});
