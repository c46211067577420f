/**
 * `bot queue drain|resume` and `bot queue sessions [--stuck]` against a real `bot worker` and
 * Redis: while drained the worker's /readyz is 503 "draining", a new turn waits (listed as
 * stuck) instead of running, and after `resume` it runs and /readyz is 200 again.
 */
import { promises as fsp } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distributedSuite, sleep, startWorker, waitFor } from '../helpers/distributed-harness.js';
import { metricsUrlIn } from '../helpers/prometheus-text.js';
import { runCli } from '../helpers/run-cli.js';

const suite = distributedSuite();

interface Row {
  sessionId: string;
  queuedTurns: number;
  waitingMs: number;
  kickPending: boolean;
  leased: boolean;
}

describe('bot queue drain / resume / sessions', () => {
  it('drain holds new sessions back and reports on /readyz; resume runs them; --stuck lists them meanwhile', async () => {
    const { env, ingress } = await suite.setUp('drain');
    await fsp.appendFile(env.configPath, 'metrics: { port: 0 }\n');
    const cli = (...args: string[]) => runCli(env.sandbox, ['--config', env.configPath, 'queue', ...args], { timeoutMs: 30_000 });
    const worker = await startWorker('w1', env).ready();
    const readyz = metricsUrlIn(worker.stderr())!.replace(/\/metrics$/, '/readyz');
    expect((await fetch(readyz)).status).toBe(200);

    await ingress.enqueue('s-before', 'u0', 'b1');
    await waitFor('the turn before draining', () => ingress.finals('b1').length === 1);

    const drained = await cli('drain');
    expect([drained.code, drained.stdout], drained.stderr).toEqual([0, expect.stringMatching(/^draining: workers take no new sessions/)]);
    expect((await cli('drain')).stdout).toMatch(/^already draining/);
    const notReady = await fetch(readyz);
    expect([notReady.status, await notReady.json()]).toEqual([503, { ready: false, reason: expect.stringMatching(/^draining: the queue is paused by `bot queue drain`/) }]);

    await ingress.enqueue('s-held', 'u1', 'h1');
    await sleep(50);
    await ingress.enqueue('s-held-2', 'u2', 'h2');
    await ingress.enqueue('s-held-2', 'u2', 'h3');
    await sleep(2_500);
    expect(ingress.finals('h1')).toHaveLength(0);

    const stuck = await cli('sessions', '--stuck', '--min-age', '0', '--json');
    expect(stuck.code, stuck.stderr).toBe(0);
    const rows = JSON.parse(stuck.stdout) as Row[];
    expect(rows.map((r) => [r.sessionId, r.queuedTurns, r.leased])).toEqual([
      ['s-held', 1, false],
      ['s-held-2', 2, false],
    ]);
    expect(rows[0]!.waitingMs).toBeGreaterThanOrEqual(2_500);
    expect(rows[0]!.kickPending).toBe(true);
    const text = await cli('sessions', '--stuck', '--min-age', '0');
    expect(text.stdout.split('\n')[0]).toMatch(/^session\s+turns\s+oldest waiting\s+state$/);
    expect(text.stdout).toMatch(/s-held-2\s+2\s+\d/);
    expect((await cli('sessions', '--stuck', '--min-age', '60')).stdout).toBe('no stuck sessions\n');

    const resumed = await cli('resume');
    expect([resumed.code, resumed.stdout]).toEqual([0, 'resumed: workers take queued sessions again\n']);
    await waitFor('the held turns', () => ingress.finals().length === 4);
    expect((await fetch(readyz)).status).toBe(200);
    expect((await cli('sessions', '--stuck', '--min-age', '0')).stdout).toBe('no stuck sessions\n');
    expect((await cli('resume')).stdout).toBe('the queue was not draining; nothing to undo\n');
    expect((await cli('sessions', '--min-age', 'x')).code).toBe(2);
  }, 60_000);
});
