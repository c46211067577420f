/** `bot start` (what `npm start` runs): the skip report, the ready line, and a clean stop on signals. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/distributed-harness.js';
import { runCli, startCli, useSandbox } from '../helpers/run-cli.js';

const READY = /Ctrl-C to stop\.\n/;

const box = useSandbox({ withRepoConfig: true });

describe('bot start', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`reports skipped bots, becomes ready, and on ${signal} stops within a few seconds with exit 0`, async () => {
      const cli = startCli(box.sb, ['start'], { env: { BOTHOST_GATEWAY_PORT: String(await freePort()) } });
      await cli.waitForStderr(READY, { timeoutMs: 15_000 });
      const startup = cli.stderr();
      expect(startup).toContain(`config ${path.join(box.sb.cwd, 'bots.yaml')}`);
      expect(startup).toContain(`sessions in ${box.sb.sessionsDir}`);
      expect(startup).toMatch(/telegram: skipped — TELEGRAM_BOT_TOKEN not set/);
      expect(startup).toMatch(/discord: skipped — DISCORD_BOT_TOKEN not set/);
      expect(startup).toMatch(/slack: skipped — SLACK_BOT_TOKEN not set/);
      expect(startup).toMatch(/gateway: web chat at http:\/\/127\.0\.0\.1:\d+\//);
      expect(startup).toMatch(/open http:\/\/127\.0\.0\.1:\d+\/ to chat \(no platform bot is running yet/);
      // With no model configured, the host says once that the offline echo model answers.
      expect(startup.match(/using the offline echo model/g)).toHaveLength(1);

      // The signal goes out the moment the ready line is read: the handlers must already be in place.
      const sentAt = Date.now();
      cli.proc.kill(signal);
      const done = await cli.exited(5_000);
      expect(done.timedOut).toBe(false);
      expect(Date.now() - sentAt).toBeLessThan(5_000);
      expect(done.signal).toBeNull();
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toMatch(/stopped/);
      expect(done.stderr.indexOf('stopped')).toBeGreaterThan(done.stderr.search(READY));
      expect(done.stderr).not.toMatch(/error|\n\s+at /i);
      // stdout stays clean: the report is on stderr.
      expect(done.stdout).toBe('');
    });
  }

  it('a bot whose token is set is not reported as missing its token', async () => {
    const cli = startCli(box.sb, ['start'], { env: { TELEGRAM_BOT_TOKEN: 'tg-secret-123', BOTHOST_GATEWAY_PORT: String(await freePort()) } });
    await cli.waitForStderr(READY, { timeoutMs: 15_000 });
    expect(cli.stderr()).not.toContain('TELEGRAM_BOT_TOKEN not set');
    // The telegram adapter ships in this build: the bot runs (connecting in the background).
    expect(cli.stderr()).not.toMatch(/telegram: skipped/);
    expect(cli.stderr()).toMatch(/bothost: 1 bot\(s\) running/);
    expect(cli.stderr()).toMatch(/discord: skipped — DISCORD_BOT_TOKEN not set/);
    // Still running once ready: it waits for a signal.
    await new Promise((r) => setTimeout(r, 300));
    expect(cli.proc.exitCode).toBeNull();
    cli.proc.kill('SIGTERM');
    const done = await cli.exited(5_000);
    expect(done.code).toBe(0);
    expect(done.all).not.toContain('tg-secret-123');
  });

  it('an unreachable Redis store: exits 1 at start-up with a clear message, never claims to be ready', async () => {
    await fsp.writeFile(path.join(box.sb.cwd, 'redis.yaml'), 'store:\n  backend: redis\n  url: redis://127.0.0.1:1\n');
    const r = await runCli(box.sb, ['--config', 'redis.yaml', 'start'], { timeoutMs: 15_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1 for store\.backend "redis" \(connect ECONNREFUSED[^)]*\); start Redis or fix store\.url/);
    expect(r.stderr).not.toMatch(/Ctrl-C to stop|Unhandled error event|unexpected error|\n\s+at /);
  });

  it('an unreachable Postgres store: exits 1 at start-up with a clear message, never claims to be ready', async () => {
    await fsp.writeFile(path.join(box.sb.cwd, 'pg.yaml'), 'store:\n  backend: postgres\n  url: postgres://127.0.0.1:1/bothost\n');
    const r = await runCli(box.sb, ['--config', 'pg.yaml', 'start'], { timeoutMs: 15_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Postgres migrate failed: connect ECONNREFUSED[^;]*; check that Postgres is reachable and store\.url is right/);
    expect(r.stderr).not.toMatch(/Ctrl-C to stop|\n\s+at /);
  });

  it('without a url the redis backend is a config error naming store.url (exit 2)', async () => {
    await fsp.writeFile(path.join(box.sb.cwd, 'bots.yaml'), 'store:\n  backend: redis\n');
    const r = await runCli(box.sb, ['start']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bots\.yaml:\d+: store\.url: required for the redis backend/);
  });
});
