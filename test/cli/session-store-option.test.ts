/**
 * `bot session … --store redis|postgres`: the same commands on another backend than bots.yaml's,
 * with the URL from the environment. Moves a session file → Redis by export/import, forks and
 * resumes it there. Needs Redis at REDIS_URL; fails loudly without it.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, deleteByPrefix, REDIS_URL } from '../locks/redis-test-env.js';
import { runCli, runCliJson, useSandbox } from '../helpers/run-cli.js';

const cli = useSandbox();
let admin: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  admin = await connectRedis();
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deleteByPrefix(admin, p);
});
afterAll(async () => {
  await admin?.quit();
});

/** bots.yaml with the file store (the default) and a unique Redis prefix for --store redis. */
async function config(): Promise<(...rest: string[]) => string[]> {
  const prefix = `t-cli-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  const file = path.join(cli.sb.cwd, 'bots.yaml');
  await fsp.writeFile(file, `store:\n  backend: file\n  prefix: ${prefix}\n`);
  return (...rest) => ['--config', file, ...rest];
}

describe('bot session --store', () => {
  it('export from the file store, import into Redis, fork and resume there', async () => {
    const args = await config();
    const env = { env: { REDIS_URL } };
    await runCliJson(cli.sb, args('chat', '--session', 'm', '--message', 'My name is Carol', '--json'));
    const exported = await runCli(cli.sb, args('session', 'export', 'm'));
    expect(exported.code, exported.stderr).toBe(0);

    const imported = await runCli(cli.sb, args('session', 'import', '--store', 'redis'), { ...env, input: exported.stdout });
    expect(imported.code, imported.stderr).toBe(0);
    const fork = await runCliJson<{ id: string }>(cli.sb, args('session', 'fork', 'm', '--store', 'redis', '--as', 'm-alt', '--json'), env);
    expect(fork.id).toBe('m-alt');
    const turn = await runCliJson<{ reply: string; cursor: number }>(cli.sb, args('session', 'resume', 'm-alt', '--store', 'redis', '--continue', "What's my name?", '--json'), env);
    expect(turn.reply).toMatch(/turn 2:.*Your name is Carol/);
    expect(turn.cursor).toBe(4);

    const [onRedis, onFile] = await Promise.all([
      runCliJson<Array<{ id: string; messageCount: number }>>(cli.sb, args('session', 'list', '--store', 'redis', '--json'), env),
      runCliJson<Array<{ id: string }>>(cli.sb, args('session', 'list', '--json')),
    ]);
    expect(onRedis.map((s) => [s.id, s.messageCount]).sort()).toEqual([
      ['m', 2],
      ['m-alt', 4],
    ]);
    expect(onFile.map((s) => s.id)).toEqual(['m']);
    // The keys really are in Redis, under the configured prefix.
    expect((await admin.keys(`${prefixes[0]}:*`)).length).toBeGreaterThan(0);
  });

  it('a backend without a URL, or an unknown one, is a usage error that says what to set', async () => {
    const args = await config();
    const [pg, bogus, memory] = await Promise.all([
      runCli(cli.sb, args('session', 'list', '--store', 'postgres')),
      runCli(cli.sb, args('session', 'list', '--store', 'mongo')),
      runCli(cli.sb, args('session', 'list', '--store', 'memory')),
    ]);
    expect(pg.code).toBe(2);
    expect(pg.stderr).toMatch(/--store postgres needs a URL: set DATABASE_URL/);
    for (const r of [bogus, memory]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not a session store; choose one of file, redis, postgres/);
    }
  });
});
