/**
 * `bot chat --message` in distributed mode: the console process only enqueues and waits; the
 * turn runs on a `bot worker` process and the reply comes back over Redis to the console.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, killEverything, makeEnv, openRedis, startWorker, uniqueNames } from '../helpers/distributed-harness.js';
import { killAllCli, runCli, runCliJson } from '../helpers/run-cli.js';

const prefixes: string[] = [];
afterEach(async () => {
  killAllCli();
  await killEverything();
});
afterAll(async () => {
  const redis = await openRedis();
  for (const p of prefixes) await deleteKeysWithPrefix(redis, p);
  redis.disconnect();
});

describe('bot chat in distributed mode', () => {
  it('runs each turn on a worker, remembers across processes, and says where turns run', async () => {
    const { prefix, queueName } = uniqueNames('chat');
    prefixes.push(prefix);
    const env = await makeEnv({ prefix, queueName });
    const worker = startWorker('w1', env);
    await worker.ready();
    const args = (m: string) => ['--config', env.configPath, 'chat', '--session', 'dist-demo', '--message', m, '--json'];

    const first = await runCliJson(env.sandbox, args('My name is Alice'));
    expect(first).toMatchObject({ session: 'dist-demo', kind: 'reply', cursor: 2 });
    const second = await runCliJson(env.sandbox, args("What's my name?"));
    expect(second.reply).toContain('turn 2');
    expect(second.reply).toContain('Your name is Alice');
    expect(second.cursor).toBe(4);

    const plain = await runCli(env.sandbox, ['--config', env.configPath, 'chat', '--session', 'dist-demo', '--message', 'third']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('turn 3');
    expect(plain.stderr).toContain('turns run on `bot worker` processes');

    const shown = await runCliJson(env.sandbox, ['--config', env.configPath, 'session', 'show', 'dist-demo', '--json']);
    expect(shown.entries.map((e: { cursor: number }) => e.cursor)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
