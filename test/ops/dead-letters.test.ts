/**
 * `bot queue dead …` against a real worker: a turn the model refuses becomes a dead letter;
 * `retry` runs it again as a new turn of its session exactly once (a second retry finds nothing),
 * and `purge` empties the list.
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distributedSuite, startWorker, waitFor } from '../helpers/distributed-harness.js';
import { runCli } from '../helpers/run-cli.js';

const suite = distributedSuite();

describe('bot queue dead', () => {
  it('lists, shows, retries exactly once, and purges dead letters', async () => {
    const { env, ingress, prefix } = await suite.setUp('dead', { fakeModel: true });
    await fsp.appendFile(env.configPath, 'metrics: { enabled: false }\n');
    const cli = (...args: string[]) => runCli(env.sandbox, ['--config', env.configPath, 'queue', 'dead', ...args], { timeoutMs: 30_000 });
    await startWorker('w1', env).ready();

    suite.fake.failNext(401, 2);
    await ingress.enqueue('s-dead', 'u1', 'm1', 'first message');
    await ingress.enqueue('s-dead-2', 'u2', 'm2', 'second message');
    await waitFor('two failure notices', () => ingress.events.filter((e) => e.kind === 'failed').length === 2);
    const modelCalls = () => suite.fake.requests.filter((r) => JSON.stringify(r.body?.messages ?? []).includes('first message')).length;
    expect(modelCalls()).toBe(1);

    const listed = await cli('list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const letters = JSON.parse(listed.stdout) as Array<{ n: number; sessionId: string; inboundId: string; retryable: boolean; error: string }>;
    expect(letters.map((d) => d.inboundId).sort()).toEqual(['b:m1', 'b:m2']);
    expect(letters.every((d) => d.retryable && /401|key/i.test(d.error))).toBe(true);
    const shown = await cli('show', 'b:m1');
    expect(JSON.parse(shown.stdout)).toMatchObject({ sessionId: 's-dead', request: { inbound: { text: 'first message' } } });

    const retried = await cli('retry', 'b:m1');
    expect(retried.code, retried.stderr).toBe(0);
    const again = await cli('retry', 'b:m1');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no dead letter "b:m1"/);

    await waitFor('the retried turn\'s reply', () => ingress.finals('m1').length === 1);
    // Exactly once: one more model call, one committed turn, one reply, one dead letter left.
    expect(modelCalls()).toBe(2);
    const entries = await ingress.entries('s-dead');
    expect(entries.filter((e) => e.role === 'user').map((e) => e.content)).toEqual(['first message']);
    expect(ingress.finals('m1')).toHaveLength(1);
    expect(await ingress.client.llen(`${prefix}:dead`)).toBe(1);

    expect((await cli('purge')).code).toBe(2); // asks for --yes
    expect(await ingress.client.llen(`${prefix}:dead`)).toBe(1);
    const purged = await cli('purge', '--yes');
    expect([purged.code, purged.stdout.trim()]).toEqual([0, 'deleted 1 dead letter(s)']);
    expect((await cli('list')).stdout).toBe('no dead letters\n');
  });
});
