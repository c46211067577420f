/**
 * What `npm test` needs before any test: a Redis, a PostgreSQL and Chromium. For each server: the
 * URL in the environment when set (it must answer: the user asked for that server), else the
 * default local one when it answers, else a private server started from the binary on a free
 * port. Nothing usable → one error naming what is missing and the command that installs it.
 * The decisions are plain functions (probes injected) so test/global-setup.test.ts can check them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freeLoopbackPort, OwnPostgres, postgresBinDir } from './helpers/postgres-server.js';

export type Env = Record<string, string | undefined>;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** The database the tests use on a private server (the default URL's). */
export const TEST_DATABASE = 'test';

/** Thrown before any test runs; the message is all the user needs to read. */
export class TestSetupError extends Error {
  override name = 'TestSetupError';
}

export interface Probes {
  redisAnswers(url: string): Promise<boolean>;
  postgresAnswers(url: string): Promise<boolean>;
}

export type ServerPlan = { use: string } | { start: string };

/** A URL as it may be printed: without its password. */
export function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export function findOnPath(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export async function planRedis(env: Env, probes: Probes): Promise<ServerPlan> {
  const given = env.REDIS_URL?.trim();
  if (given) {
    if (await probes.redisAnswers(given)) return { use: given };
    throw new TestSetupError(`REDIS_URL is set to ${shown(given)} but no Redis answers there: start that server, or unset REDIS_URL and the tests start a private redis-server`);
  }
  if (await probes.redisAnswers(DEFAULT_REDIS_URL)) return { use: DEFAULT_REDIS_URL };
  const binary = findOnPath('redis-server', env);
  if (binary) return { start: binary };
  throw new TestSetupError(`no Redis answers at ${DEFAULT_REDIS_URL} and redis-server is not on the PATH: install it (Debian: apt-get install redis-server), or set REDIS_URL to a running Redis`);
}

export async function planPostgres(env: Env, probes: Probes): Promise<ServerPlan> {
  const given = env.DATABASE_URL?.trim();
  if (given) {
    if (await probes.postgresAnswers(given)) return { use: given };
    throw new TestSetupError(`DATABASE_URL is set to ${shown(given)} but no PostgreSQL answers there: start that server, or unset DATABASE_URL and the tests start a private one`);
  }
  if (await probes.postgresAnswers(DEFAULT_DATABASE_URL)) return { use: DEFAULT_DATABASE_URL };
  const binDir = postgresBinDir(env);
  if (binDir) return { start: binDir };
  throw new TestSetupError(`no PostgreSQL answers at ${DEFAULT_DATABASE_URL} and initdb/postgres are not in PG_BIN, on the PATH or under /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql), or set DATABASE_URL to a running server`);
}

/** The browser tests drive Chromium through playwright-core: CHROMIUM_PATH, else /usr/bin/chromium. */
export function planChromium(env: Env, exists: (file: string) => boolean = existsSync): string {
  const given = env.CHROMIUM_PATH?.trim();
  if (given) {
    if (exists(given)) return given;
    throw new TestSetupError(`CHROMIUM_PATH is set to ${given}, which does not exist: point it at a Chromium binary, or unset it to use ${DEFAULT_CHROMIUM}`);
  }
  if (exists(DEFAULT_CHROMIUM)) return DEFAULT_CHROMIUM;
  throw new TestSetupError(`the browser tests need Chromium at ${DEFAULT_CHROMIUM}: install it (Debian: apt-get install chromium), or set CHROMIUM_PATH`);
}

export const realProbes: Probes = {
  async redisAnswers(url) {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  },
  async postgresAnswers(url) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};

/** A server this run started: its URL and how to stop it (by pid). */
export interface PrivateServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** redis-server on a free loopback port, no persistence, its dir in a temp dir. */
export async function startPrivateRedis(binary: string): Promise<PrivateServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bothost-test-redis-'));
  const port = await freeLoopbackPort();
  const url = `redis://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await realProbes.redisAnswers(url))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new TestSetupError(`the private redis-server (${binary}, port ${port}) did not start: ${log.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, pid: proc.pid!, stop };
}

/** A throw-away PostgreSQL (fsync off) with the database `test`. */
export async function startPrivatePostgres(binDir: string): Promise<PrivateServer> {
  const server = await OwnPostgres.create(binDir, ['-F']);
  const admin = new pg.Client({ connectionString: server.url });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${TEST_DATABASE}`);
  } catch (err) {
    await server.destroy();
    throw err;
  } finally {
    await admin.end().catch(() => undefined);
  }
  return { url: server.urlFor(TEST_DATABASE), pid: server.pid!, stop: () => server.destroy() };
}
