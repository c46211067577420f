/**
 * A gateway listening beyond loopback with no auth would serve a page nobody can sign in to:
 * `bot gateway` and `bot start` refuse to start with one line saying what to set; with a signing
 * secret or static tokens they start; on loopback they start without either.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../helpers/redis-fixtures.js';
import { REPO_ROOT, runCli, startCli, useSandbox } from '../helpers/run-cli.js';

const box = useSandbox();

/** bots.yaml with this gateway section; `PORT` becomes a free port. */
async function config(gateway: string): Promise<string> {
  const file = path.join(box.sb.root, 'bots.yaml');
  await fsp.writeFile(file, `gateway: ${gateway.replace('PORT', String(await freePort()))}\n`);
  return file;
}

function expectRefusal(r: { code: number | null; stderr: string; timedOut: boolean }, listen: string): void {
  expect(r.timedOut).toBe(false);
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(`the gateway would listen on ${listen} with no auth configured`);
  expect(lines[0]).toMatch(/set BOTHOST_GATEWAY_SECRET .*bot gateway token <name>.*gateway\.auth\.tokens.*127\.0\.0\.1/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

async function startsAndStops(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<void> {
  const proc = startCli(box.sb, args, { env, timeoutMs: 30_000 });
  await proc.waitForStderr(ready, { timeoutMs: 20_000 });
  proc.proc.kill('SIGTERM');
  const done = await proc.exited(15_000);
  expect(done.code, done.stderr).toBe(0);
}

describe('bot gateway beyond loopback', () => {
  it('--host 0.0.0.0 without auth: refused, exit 2, one line naming the fix', async () => {
    const file = await config('{ port: PORT }');
    expectRefusal(await runCli(box.sb, ['--config', file, 'gateway', '--port', '0', '--host', '0.0.0.0']), '0.0.0.0');
  });

  it('gateway.host 0.0.0.0 in bots.yaml without auth: refused the same way', async () => {
    const file = await config('{ host: 0.0.0.0, port: PORT }');
    expectRefusal(await runCli(box.sb, ['--config', file, 'gateway']), '0.0.0.0');
  });

  it('with BOTHOST_GATEWAY_SECRET it starts on 0.0.0.0', async () => {
    const file = await config('{ port: PORT }');
    await startsAndStops(['--config', file, 'gateway', '--port', '0', '--host', '0.0.0.0'], /web chat at http:\/\/0\.0\.0\.0:\d+\//, { BOTHOST_GATEWAY_SECRET: 'a-signing-secret-of-24-chars' });
  });

  it('on loopback it starts with no auth at all', async () => {
    const file = await config('{ port: PORT }');
    await startsAndStops(['--config', file, 'gateway', '--port', '0', '--host', '127.0.0.1'], /web chat at http:\/\/127\.0\.0\.1:\d+\//);
  });
});

describe('bot start with the gateway enabled beyond loopback', () => {
  it('without auth: refused before anything starts', async () => {
    const file = await config('{ enabled: true, host: "::", port: PORT }');
    expectRefusal(await runCli(box.sb, ['--config', file, 'start']), '::');
  });

  it('with static tokens it starts', async () => {
    const file = await config('{ enabled: true, host: 0.0.0.0, port: PORT, auth: { tokens: { alice: "alice-token-0123456789" } } }');
    await startsAndStops(['--config', file, 'start'], /Ctrl-C to stop/);
  });
});

describe('docker-compose.yml', () => {
  it('its gateway listens on 0.0.0.0 and takes a required signing secret from the environment', () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { command?: string[]; environment?: Record<string, string> }> };
    const gateway = compose.services.gateway!;
    expect(gateway.command).toEqual(expect.arrayContaining(['gateway', '--host', '0.0.0.0']));
    // `${VAR:?message}`: compose stops with the message when it is unset, instead of a gateway that refuses to start.
    expect(gateway.environment?.BOTHOST_GATEWAY_SECRET).toMatch(/^\$\{BOTHOST_GATEWAY_SECRET:\?set BOTHOST_GATEWAY_SECRET .+\}$/);
  });
});
