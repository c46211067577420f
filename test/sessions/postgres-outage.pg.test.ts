/**
 * A Postgres crash under a live store: a private server (initdb in a temp dir, on a free port,
 * stopped by pid with SIGQUIT — PostgreSQL's immediate shutdown, i.e. a crash) while commits are
 * flowing. Calls fail with a clear STORE_FAILED and never crash or hang the process; after the
 * restart the same store instance works again, every acknowledged commit survived exactly once,
 * and retrying the failed ones (same inbound ids) never doubles an entry (I1, I2).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CommitResult } from '../../src/core/session-store.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Root may not run postgres: run it as the `postgres` user then. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

class OwnPostgres {
  proc: ChildProcess | undefined;
  log = '';
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  static async create(): Promise<OwnPostgres> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bothost-pg-'));
    const user = runAs();
    if (user) chownSync(dir, user.uid, user.gid);
    const init = spawnSync(path.join(BIN, 'initdb'), ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync'], {
      encoding: 'utf8',
      ...(user ?? {}),
    });
    if (init.status !== 0) throw new Error(`initdb failed (is PostgreSQL installed at ${BIN}? set PG_BIN): ${init.stderr}`);
    const pg = new OwnPostgres(dir, await freePort(), user);
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    this.log = '';
    const args = ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1'];
    const proc = spawn(path.join(BIN, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(this.user ?? {}) });
    this.proc = proc;
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    const deadline = Date.now() + 20_000;
    while (!/database system is ready to accept connections/.test(this.log)) {
      if (proc.exitCode !== null) throw new Error(`postgres exited ${proc.exitCode}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${this.log.slice(-1000)}`);
      await sleep(50);
    }
  }

  /** SIGQUIT to the postmaster: immediate shutdown, no checkpoint — recovery runs on restart. */
  async crash(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGQUIT');
    await exited;
  }

  async destroy(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGQUIT');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let own: OwnPostgres;
beforeAll(async () => {
  own = await OwnPostgres.create();
}, 60_000);
afterAll(async () => {
  await own?.destroy();
});

it('a Postgres crash mid-traffic: clear errors, no crash, recovery, every acknowledged commit exactly once', { timeout: 90_000 }, async () => {
  const store = new PostgresSessionStore({ url: own.url, maxMessages: 100_000, poolSize: 4 });
  const commit = (i: number): Promise<CommitResult> =>
    store.commitTurn('s', { inboundId: `m${i}`, entries: [{ role: 'user', content: `u${i}` }, { role: 'assistant', content: `a${i}` }] });
  try {
    for (let i = 0; i < 20; i++) expect((await commit(i)).status).toBe('committed');

    // Traffic from 4 concurrent senders; crash the server once some of it is acknowledged.
    const acked = new Set<number>();
    const failed = new Set<number>();
    const errors: unknown[] = [];
    let next = 20;
    let crashedAt = 0;
    const senders = Array.from({ length: 4 }, async () => {
      while (crashedAt === 0 || Date.now() - crashedAt < 1500) {
        const i = next++;
        try {
          await commit(i);
          acked.add(i);
        } catch (error) {
          failed.add(i);
          errors.push(error);
          await sleep(50);
        }
      }
    });
    while (acked.size < 30) await sleep(5);
    await own.crash();
    crashedAt = Date.now();
    await Promise.all(senders);

    expect(failed.size).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatchObject({ code: 'STORE_FAILED', message: expect.stringMatching(/^Postgres (commitTurn|migrate) failed: /) });
    await expect(store.getEntries('s')).rejects.toMatchObject({ code: 'STORE_FAILED' });

    // Back up on the same data directory: the same store instance recovers by itself.
    await own.start();
    let recovered = false;
    for (const deadline = Date.now() + 20_000; !recovered && Date.now() < deadline; ) {
      recovered = await store.getSession('s').then(
        () => true,
        () => sleep(200).then(() => false),
      );
    }
    expect(recovered).toBe(true);

    // Retry every failed commit with its own inbound id: committed now, or already committed
    // before the crash (its acknowledgement was lost) — never twice.
    for (const i of [...failed].sort((a, b) => a - b)) expect(['committed', 'duplicate']).toContain((await commit(i)).status);
    const entries = await store.getEntries('s');
    const users = entries.filter((e) => e.role === 'user').map((e) => Number(e.content.slice(1)));
    expect(new Set(users).size).toBe(users.length);
    for (const i of [...acked, ...failed, ...Array.from({ length: 20 }, (_, k) => k)]) expect(users).toContain(i);
    expect(users).toHaveLength(20 + acked.size + failed.size);
    expect(entries.map((e) => e.cursor)).toEqual(Array.from({ length: entries.length }, (_, k) => k + 1));
    for (let k = 0; k < entries.length; k += 2) expect(entries[k + 1]!.content).toBe(`a${entries[k]!.content.slice(1)}`);
  } finally {
    await store.close();
  }
});
