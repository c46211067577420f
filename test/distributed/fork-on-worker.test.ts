/**
 * A forked and a reverted session in distributed mode: `bot session resume --continue` enqueues,
 * a `bot worker` process runs the turn, and the worker sends the model the session's stitched
 * history (the echo model's reply counts the user turns it saw).
 */
import { describe, expect, it } from 'vitest';
import { cliWorkerSuite } from '../helpers/distributed-harness.js';
import { runCliJson } from '../helpers/run-cli.js';

const suite = cliWorkerSuite();

describe('forks and reverts in distributed mode', () => {
  it('a worker runs a fork\'s turn with its inherited history, and a reverted session\'s without the reverted part', async () => {
    const { env } = await suite.start('fork');
    const cli = (...args: string[]) => runCliJson(env.sandbox, ['--config', env.configPath, ...args]);

    await cli('chat', '--session', 'main', '--message', 'My name is Alice', '--json');
    await cli('chat', '--session', 'main', '--message', 'I like tea', '--json');
    await cli('session', 'fork', 'main', '--from-cursor', '2', '--as', 'alt', '--json');
    const forked = await cli('session', 'resume', 'alt', '--continue', "What's my name?", '--json');
    expect(forked.reply).toMatch(/turn 2:.*Your name is Alice/);
    expect(forked.cursor).toBe(4);

    const snap = await cli('session', 'snapshot', 'main', '--json');
    await cli('chat', '--session', 'main', '--message', 'forget this', '--json');
    await cli('session', 'revert', 'main', '--snapshot', snap.id, '--json');
    const reverted = await cli('chat', '--session', 'main', '--message', 'and now?', '--json');
    expect(reverted.reply).toMatch(/turn 3:/); // not 4: "forget this" left the history

    const [alt, main] = await Promise.all([cli('session', 'show', 'alt', '--json'), cli('session', 'show', 'main', '--json')]);
    expect(alt.entries.map((e: { content: string }) => e.content).filter((_: string, i: number) => i % 2 === 0)).toEqual(['My name is Alice', "What's my name?"]);
    expect(main.entries.map((e: { cursor: number }) => e.cursor)).toEqual([1, 2, 3, 4, 7, 8]);
  });
});
