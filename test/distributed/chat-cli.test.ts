/**
 * `bot chat --message` in distributed mode: the console process only enqueues and waits; the
 * turn runs on a `bot worker` process and the reply comes back over Redis to the console.
 */
import { describe, expect, it } from 'vitest';
import { cliWorkerSuite, startWorker } from '../helpers/distributed-harness.js';
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

  it('with no worker running: says so after a few seconds, gives up at --timeout, and the message stays queued for the next worker', async () => {
    const { env, worker } = await suite.start('chat-noworker');
    await worker.kill();
    const started = Date.now();
    const lonely = await runCli(env.sandbox, ['--config', env.configPath, 'chat', '--session', 'waits', '--message', 'anyone there?', '--timeout', '6'], { timeoutMs: 30_000 });
    expect(lonely.code).toBe(1);
    expect(lonely.stderr).toContain('no `bot worker` is running to take it yet — start one with `npx bot worker`');
    expect(lonely.stderr).toMatch(/no reply within 6 s; the message stays queued/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(lonely.stderr).not.toMatch(/\n\s+at /);

    await startWorker('w2', env).ready();
    const later = await runCliJson(env.sandbox, ['--config', env.configPath, 'chat', '--session', 'waits', '--message', 'and now?', '--json']);
    expect(later.reply).toContain('turn 2');
    expect(later.reply).not.toMatch(/no `bot worker`/);
  });

  it('an empty --message is refused, like the web page refuses it', async () => {
    const { env } = await suite.start('chat-empty');
    const r = await runCli(env.sandbox, ['--config', env.configPath, 'chat', '--message', '  ']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--message is empty/);
  });
});
