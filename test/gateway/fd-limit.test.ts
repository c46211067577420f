/**
 * T35 fd exhaustion: under a low open-file limit (`ulimit -n 256`) the gateway caps connections
 * below it, says so at start, answers 503 past the cap, and keeps enough descriptors for its
 * store: connected users are still served (no EMFILE, no "storage unavailable").
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionCap, openFileLimit } from '../../src/gateway/connection-cap.js';
import { CLI_ENTRY, cliEnv, useSandbox } from '../helpers/run-cli.js';
import { TestClient } from './ws-client.js';

const READY = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//;

describe('gateway under a low open-file limit', () => {
  const box = useSandbox();

  it('reads the limit and derives the cap with headroom', () => {
    expect(openFileLimit('Max open files            1024                 4096                 files     \n')).toBe(1024);
    expect(openFileLimit('Max open files            unlimited            unlimited            files\n')).toBeNull();
    expect(openFileLimit()).toBeGreaterThan(0); // this machine's, from /proc/self/limits
    expect(connectionCap(20_000, null)).toEqual({ max: 20_000 });
    expect(connectionCap(100, 1024)).toEqual({ max: 100 });
    // A small cut (the default 20 000 against a 20 000 limit) lowers the cap without a notice.
    expect(connectionCap(20_000, 20_000)).toEqual({ max: 17_872 });
    const low = connectionCap(20_000, 256);
    expect(low.max).toBeLessThan(256 - 128);
    expect(low.notice).toMatch(/256.*ulimit -n/);
  });

  it('`ulimit -n 256; bot gateway`: says the cap, refuses past it with 503, and the store keeps working', async () => {
    const config = path.join(box.sb.root, 'bots.yaml');
    await fsp.writeFile(config, `
agents: { assistant: { model: echo } }
store: { backend: file, path: "${path.join(box.sb.root, 'sessions')}" }
gateway:
  allow_loopback_without_auth: true
  session: { persist: true, persist_path: "${path.join(box.sb.root, 'gw')}" }
`);
    const proc = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, CLI_ENTRY, '--config', config, 'gateway', '--port', '0'], {
      cwd: box.sb.cwd,
      env: cliEnv(box.sb),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      const deadline = Date.now() + 20_000;
      while (!READY.test(stderr)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`gateway did not start:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const port = Number(READY.exec(stderr)![1]);
      const cap = Number(/accepting at most (\d+) connections/.exec(stderr)?.[1]);
      expect(cap, stderr).toBeGreaterThan(0);
      expect(cap).toBeLessThan(256);
      const url = `ws://127.0.0.1:${port}/`;

      const owner = await TestClient.open(url);
      await owner.join({ session_id: 'keep' });
      expect((await owner.ask('before', 'k1')).content).toContain('turn 1');

      // Far more connections than descriptors, each joining (and so creating) its own session.
      const opened: TestClient[] = [];
      let refused = 0;
      const attempts = await Promise.allSettled(Array.from({ length: 400 }, () => TestClient.open(url)));
      for (const a of attempts) {
        if (a.status === 'fulfilled') opened.push(a.value);
        else if (/HTTP 503/.test(String(a.reason))) refused++;
      }
      const joins = await Promise.all(opened.map((c, i) => c.join({ session_id: `s${i}` }).catch((e: Error) => ({ type: 'failed', message: e.message }))));
      expect(opened.length + 1).toBeLessThanOrEqual(cap);
      expect(refused).toBeGreaterThan(0);
      expect(joins.filter((j) => j.type !== 'joined'), JSON.stringify(joins.filter((j) => j.type !== 'joined').slice(0, 3))).toEqual([]);

      // The store still has descriptors: the first user is served, and so are the others.
      expect((await owner.ask('after', 'k2')).content).toContain('turn 2');
      expect((await opened[0]!.ask('me too', 'o1')).content).toContain('turn 1');
      expect(stderr).not.toMatch(/EMFILE|unavailable/);
      for (const c of opened) c.close();
    } finally {
      proc.kill('SIGKILL');
    }
  }, 60_000);
});
