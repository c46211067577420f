/**
 * `bot chat --message` in distributed mode: the console process only enqueues and waits; the
 * turn runs on a `bot worker` process and the reply comes back over Redis to the console.
 */
import { describe, expect, it } from 'vitest';
import { cliWorkerSuite } from '../helpers/distributed-harness.js';
import { runCli, runCliJson } from '../helpers/run-cli.js';

const suite = cliWorkerSuite();

describe('bot chat in distributed mode', () => {
  it('runs each turn on a worker, remembers across processes, and says where turns run', async () => {
    const { env } = await suite.start('chat');
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
