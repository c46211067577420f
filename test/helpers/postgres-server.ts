/**
 * A private PostgreSQL server for tests: initdb in a temp dir (trust auth, user `postgres`), the
 * postmaster on a free loopback port with its socket in that dir, stopped by pid. Root may not run
 * postgres, so as root it runs as the `postgres` user. The binaries come from `postgresBinDir()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Where `initdb` and `postgres` are: PG_BIN, else the PATH, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(env: Record<string, string | undefined> = process.env): string | undefined {
  const has = (dir: string) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres'));
  if (env.PG_BIN) return has(env.PG_BIN) ? env.PG_BIN : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir && has(dir)) return dir;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => path.join(root, v, 'bin')).find(has);
}

/** Root may not run postgres: run it as the `postgres` user then. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  if (uid.status !== 0) throw new Error('running as root, and there is no `postgres` user to run a private PostgreSQL server as (create one, or run the tests as another user)');
  return { uid: Number(uid.stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export class OwnPostgres {
  proc: ChildProcess | undefined;
  log = '';
  private constructor(
    readonly binDir: string,
    readonly dir: string,
    readonly port: number,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  /** initdb + start; `extraArgs` go to the postmaster (e.g. `-F` to skip fsync). */
  static async create(binDir: string, extraArgs: string[] = []): Promise<OwnPostgres> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bothost-pg-'));
    const user = runAs();
    if (user) chownSync(dir, user.uid, user.gid);
    const init = spawnSync(path.join(binDir, 'initdb'), ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync'], {
      encoding: 'utf8',
      ...(user ?? {}),
    });
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb in ${binDir} failed (set PG_BIN to the PostgreSQL server binaries): ${init.stderr || init.error?.message}`);
    }
    const pg = new OwnPostgres(binDir, dir, await freeLoopbackPort(), user);
    pg.extraArgs = extraArgs;
    await pg.start();
    return pg;
  }

  private extraArgs: string[] = [];

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The `postgres` database; `urlFor('test')` for another. */
  get url(): string {
    return this.urlFor('postgres');
  }

  urlFor(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    this.log = '';
    const args = ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', ...this.extraArgs];
    const proc = spawn(path.join(this.binDir, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(this.user ?? {}) });
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
    await this.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
