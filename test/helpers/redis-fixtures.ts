/**
 * Redis for the distributed tests: the shared server (a checked connection, unique names, key
 * cleanup by prefix) and private redis-server processes for fault tests, stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { waitFor } from './wait-for.js';

export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connected (checked) client from the product's own connectRedis; fails loudly if unreachable. */
export async function openRedis(url: string = SHARED_REDIS_URL): Promise<Redis> {
  const client = connectRedis(url, { lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new Error(`Redis is not reachable at ${url}: start redis-server or set REDIS_URL (a missing Redis fails these tests by design)`, { cause });
  }
  client.disconnect();
  const live = connectRedis(url);
  live.on('error', () => undefined);
  await live.ping();
  return live;
}

export function uniqueNames(tag: string): { prefix: string; queueName: string } {
  const id = randomUUID().slice(0, 8);
  return { prefix: `t-dist-${tag}-${id}`, queueName: `q-${tag}-${id}` };
}

export async function keysWithPrefix(client: Redis, prefix: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}

export async function deleteKeysWithPrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await keysWithPrefix(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A private redis-server (AOF on) for fault tests, stopped by pid, restartable on the same dir. */
export class OwnRedis {
  proc: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(extraArgs: string[] = []): Promise<OwnRedis> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bothost-redis-'));
    const r = new OwnRedis(await freePort(), dir, extraArgs);
    ownRedises.add(r);
    await r.launch();
    return r;
  }

  async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir, ...this.extraArgs];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    await waitFor(`redis-server on port ${this.port} to accept connections (log: ${this.log.slice(-500)})`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}: ${this.log}`);
      return this.log.includes('Ready to accept connections');
    }, { timeoutMs: 10_000 });
  }

  /** Stop by pid (SIGKILL: an abrupt outage; AOF with appendfsync always keeps every acknowledged write). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    ownRedises.delete(this);
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
const ownRedises = new Set<OwnRedis>();

/** Stop and remove every private redis-server still running (afterEach/afterAll). */
export async function destroyOwnRedises(): Promise<void> {
  await Promise.all([...ownRedises].map((r) => r.destroy()));
}
