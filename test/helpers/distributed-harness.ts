/**
 * Harness for the distributed-mode tests (test/distributed): real `bot worker` OS processes,
 * an in-test ingress built from the real pieces (connectRedis + BullMQTurnQueue +
 * DeliveryRouter + OutboxRoutes + subscribePartials + RedisSessionStore), private redis-server instances for fault tests,
 * wait-for-condition polling and key cleanup by prefix.
 *
 * Every process spawned here is tracked; call `killEverything()` in afterEach/afterAll.
 * The shared Redis (REDIS_URL or 127.0.0.1:6379) must be reachable; without it these tests fail loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from './fake-openai-server.js';
import type { WorkerOptions } from '../../src/cli/worker-actions.js';
import type { TurnRequest, TurnResult } from '../../src/core/turn-queue.js';
import { BullMQTurnQueue } from '../../src/queue/bullmq-turn-queue.js';
import { inboxIndexKey, inboxKeys } from '../../src/queue/inbox-keys.js';
import { connectRedis } from '../../src/queue/redis-connection.js';
import { subscribePartials } from '../../src/queue/redis-delivery.js';
import { OutboxRoutes } from '../../src/queue/outbox-routes.js';
import type { OutboxEvent } from '../../src/queue/outbox-consumer.js';
import { DeliveryRouter } from '../../src/host/delivery-router.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import type { SessionEntry } from '../../src/core/session-store.js';
import type { FakeChatBody } from './fake-openai-server.js';
import { assertBuilt, CLI_ENTRY, cliEnv, makeSandbox, type Sandbox } from './run-cli.js';

export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BOT_ID = 'b';

/** `bot worker` options, in ms (see `bot worker --help`): the CLI's own option type. */
export type WorkerFlags = WorkerOptions;

/** Short timings for CI; lease TTL < lock duration, as in production. */
export const FAST_WORKER_FLAGS: Readonly<Required<Omit<WorkerFlags, 'concurrency'>>> = Object.freeze({
  leaseTtl: 1500,
  lockDuration: 3000,
  stalledInterval: 1000,
  sweepInterval: 1000,
  orphanAge: 2000,
});

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// polling

/** Polls `check` until it returns a truthy value; throws with `what` (and the last value) on timeout. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      last = await check();
      lastError = undefined;
      if (last) return last as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? `last error: ${String(lastError)}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${options.timeoutMs ?? 20_000} ms waiting for ${what} (${detail})`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

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

// ---------------------------------------------------------------------------------------------
// config and worker processes

export interface ConfigOptions {
  prefix: string;
  queueName: string;
  redisUrl?: string;
  /** `echo` (default) or a model name served by the fake OpenAI server. */
  model?: string;
  concurrency?: number;
  backend?: 'bullmq' | 'inline';
  /** The whole `store:` line, to run the workers on another store (e.g. postgres). */
  storeYaml?: string;
}

export function botsYaml(o: ConfigOptions): string {
  const url = o.redisUrl ?? SHARED_REDIS_URL;
  return [
    `agents: { assistant: { model: ${o.model ?? 'echo'}, max_history: 100000 } }`,
    o.storeYaml ?? `store: { backend: redis, url: "${url}", prefix: "${o.prefix}", max_messages: 100000 }`,
    `queue: { backend: ${o.backend ?? 'bullmq'}, concurrency: ${o.concurrency ?? 4}, name: "${o.queueName}"${o.storeYaml ? `, redis_url: "${url}"` : ''} }`,
    'log: { level: info }',
    '',
  ].join('\n');
}

export interface Env {
  sandbox: Sandbox;
  configPath: string;
}

export async function makeEnv(o: ConfigOptions, env: Record<string, string> = {}): Promise<Env> {
  assertBuilt();
  const sandbox = await makeSandbox(env);
  sandboxes.add(sandbox);
  const configPath = path.join(sandbox.root, 'bots.yaml');
  await fsp.writeFile(configPath, botsYaml(o));
  return { sandbox, configPath };
}
const sandboxes = new Set<Sandbox>();

export function fakeModelEnv(baseUrl: string): Record<string, string> {
  return { OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: 'fake-key-for-tests', BOT_MODEL: 'fake-model' };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class WorkerProc {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  private err = '';
  private waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    env: Env,
    flags: WorkerFlags,
  ) {
    const args = [CLI_ENTRY, '--config', env.configPath, 'worker'];
    const f = { ...FAST_WORKER_FLAGS, ...flags };
    if (f.concurrency !== undefined) args.push('--concurrency', String(f.concurrency));
    args.push('--lease-ttl', String(f.leaseTtl), '--lock-duration', String(f.lockDuration), '--stalled-interval', String(f.stalledInterval));
    args.push('--sweep-interval', String(f.sweepInterval), '--orphan-age', String(f.orphanAge));
    this.proc = spawn(process.execPath, args, { cwd: env.sandbox.cwd, env: cliEnv(env.sandbox), stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.proc.pid!;
    workers.add(this);
    this.proc.stdout!.setEncoding('utf8').on('data', () => undefined);
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.err += d;
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise<Exit>((resolve) => {
      this.proc.on('close', (code, signal) => {
        workers.delete(this);
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      });
    });
  }

  stderr(): string {
    return this.err;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves when stderr (from offset `from`) matches; rejects if the process exits first. */
  waitForLog(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.name} (pid ${this.pid}): stderr did not match ${pattern} within ${timeoutMs} ms\n${this.err.slice(-3000)}`)), timeoutMs);
      const check = () => {
        const m = this.err.slice(from).match(pattern);
        if (m) {
          clearTimeout(timer);
          return resolve(m);
        }
        if (!this.alive) {
          clearTimeout(timer);
          return reject(new Error(`worker ${this.name} (pid ${this.pid}) exited (${this.proc.exitCode}/${this.proc.signalCode}) before stderr matched ${pattern}\n${this.err.slice(-3000)}`));
        }
        this.waiters.push(check);
      };
      check();
    });
  }

  async ready(timeoutMs = 20_000): Promise<this> {
    await this.waitForLog(/"msg":"worker ready/, timeoutMs);
    return this;
  }

  /** CPU time (user + system, clock ticks) the process has used so far; Linux /proc. */
  async cpuTicks(): Promise<number> {
    try {
      const stat = await fsp.readFile(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  async kill(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exited;
  }
}
const workers = new Set<WorkerProc>();

export function startWorker(name: string, env: Env, flags: WorkerFlags = {}): WorkerProc {
  return new WorkerProc(name, env, flags);
}

/** SIGKILL (after SIGCONT, for stopped ones) every worker and private Redis; remove sandboxes. */
export async function killEverything(): Promise<void> {
  const all = [...workers];
  for (const w of all) {
    w.signal('SIGCONT');
    w.signal('SIGKILL');
  }
  await Promise.all(all.map((w) => w.exited));
  await Promise.all([...ownRedises].map((r) => r.destroy()));
  const boxes = [...sandboxes];
  sandboxes.clear();
  await Promise.all(boxes.map((s) => s.cleanup()));
}

// ---------------------------------------------------------------------------------------------
// ingress side, as an adapter process assembles it

export interface DeliveryEvent {
  kind: 'started' | 'partial' | 'final' | 'failed';
  sessionId: string;
  messageId: string;
  at: number;
  text?: string;
  duplicate?: boolean;
  cursor?: number;
}

export class Ingress {
  readonly events: DeliveryEvent[] = [];
  readonly queue: BullMQTurnQueue;
  readonly store: RedisSessionStore;
  private constructor(
    readonly client: Redis,
    private readonly subscriber: Redis,
    readonly prefix: string,
    queueName: string,
  ) {
    this.queue = new BullMQTurnQueue({ client, prefix, queueName });
    this.queue.queue.on('error', () => undefined); // reconnect noise during outage tests
    this.store = new RedisSessionStore({ client, prefix, maxMessages: 100_000 });
  }

  private unsubscribe: (() => Promise<void>) | undefined;
  private outbox: OutboxRoutes | undefined;
  readonly outboxEvents: OutboxEvent[] = [];

  static async open(prefix: string, queueName: string, url: string = SHARED_REDIS_URL): Promise<Ingress> {
    const client = await openRedis(url);
    const subscriber = client.duplicate();
    subscriber.on('error', () => undefined);
    const ingress = new Ingress(client, subscriber, prefix, queueName);
    const push = (e: Omit<DeliveryEvent, 'at'>): void => void ingress.events.push({ ...e, at: Date.now() });
    const of = (r: TurnRequest) => ({ sessionId: r.sessionId, messageId: r.inbound.messageId });
    const router = new DeliveryRouter();
    router.register(BOT_ID, {
      started: (r) => push({ kind: 'started', ...of(r) }),
      partial: (r, text) => push({ kind: 'partial', ...of(r), text }),
      final: (res: TurnResult) => push({ kind: 'final', ...of(res.request), text: res.reply, duplicate: res.duplicate, cursor: res.cursor }),
      failed: (r, message) => push({ kind: 'failed', ...of(r), text: message }),
    });
    ingress.unsubscribe = await subscribePartials(subscriber, prefix, router);
    ingress.outbox = new OutboxRoutes({ client, prefix, delivery: router, consumer: { claimIdleMs: 2000 }, onEvent: (e) => ingress.outboxEvents.push(e) });
    router.connect(ingress.outbox);
    await router.ready();
    ingresses.add(ingress);
    return ingress;
  }

  enqueue(sessionId: string, userId: string, messageId: string, text = messageId): Promise<void> {
    return this.queue.enqueue(turnRequest(sessionId, userId, messageId, text));
  }

  finals(messageId?: string): DeliveryEvent[] {
    return this.events.filter((e) => e.kind === 'final' && (messageId === undefined || e.messageId === messageId));
  }

  entries(sessionId: string): Promise<SessionEntry[]> {
    return this.store.getEntries(sessionId);
  }

  /** Inbox length, pending-set size and whether the kicked flag is set, for one session. */
  async inboxState(sessionId: string): Promise<{ inbox: number; pending: number; kicked: boolean; leased: boolean }> {
    const k = inboxKeys(this.prefix, sessionId);
    const [inbox, pending, kicked, leased] = await Promise.all([this.client.llen(k.inbox), this.client.scard(k.pending), this.client.exists(k.kicked), this.client.exists(k.lease)]);
    return { inbox, pending, kicked: kicked === 1, leased: leased === 1 };
  }

  /** Sessions the sweep index still lists with a non-empty inbox. */
  async queuedTurns(): Promise<number> {
    const ids = await this.client.zrange(inboxIndexKey(this.prefix), 0, -1);
    let n = 0;
    for (const id of ids) n += await this.client.llen(inboxKeys(this.prefix, id).inbox);
    return n;
  }

  async jobCounts(): Promise<Record<string, number>> {
    return this.queue.queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized');
  }

  async close(): Promise<void> {
    ingresses.delete(this);
    // Bounded: closing waits on a Redis that may be down (a fault test's private server).
    await Promise.race([this.queue.close().catch(() => undefined), sleep(3000)]);
    await Promise.race([this.outbox?.close().catch(() => undefined), sleep(6000)]);
    await Promise.race([this.unsubscribe?.().catch(() => undefined), sleep(1000)]);
    this.subscriber.disconnect();
    // Bounded: a private Redis may already be gone (the client would queue commands forever).
    if (this.client.status === 'ready') await Promise.race([deleteKeysWithPrefix(this.client, this.prefix).catch(() => undefined), sleep(5000)]);
    this.client.disconnect();
  }
}
const ingresses = new Set<Ingress>();

export async function closeAllIngresses(): Promise<void> {
  await Promise.all([...ingresses].map((i) => i.close()));
}

export function turnRequest(sessionId: string, userId: string, messageId: string, text = messageId): TurnRequest {
  return {
    sessionId,
    agent: 'assistant',
    inbound: { platform: 'test', botId: BOT_ID, chatId: userId, userId, messageId, text, isDirect: true, mentionsBot: true, receivedAt: Date.now() },
  };
}

// ---------------------------------------------------------------------------------------------
// invariant checks on a session log

/**
 * Checks a session's log written by the echo model and returns the user message ids in log order:
 * entries alternate user/assistant (one turn at a time, I3), each message id once (I2), the
 * assistant reply k says `turn k` and quotes the user entry just before it (I4).
 */
export function checkEchoLog(entries: SessionEntry[]): string[] {
  const problems: string[] = [];
  const ids: string[] = [];
  const seen = new Set<string>();
  if (entries.length % 2 !== 0) problems.push(`odd number of entries: ${entries.length}`);
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const user = entries[i]!;
    const assistant = entries[i + 1]!;
    const k = i / 2 + 1;
    if (user.role !== 'user' || assistant.role !== 'assistant') problems.push(`entries ${i},${i + 1} are ${user.role},${assistant.role}, not user,assistant`);
    const id = String(user.metadata?.message_id);
    if (seen.has(id)) problems.push(`message ${id} stored twice (I2)`);
    seen.add(id);
    ids.push(id);
    const expected = `[echo] turn ${k}: you said "${user.content}"`;
    if (!assistant.content.startsWith(expected)) problems.push(`reply ${k} is ${JSON.stringify(assistant.content.slice(0, 60))}, expected it to start with ${JSON.stringify(expected)} (I4)`);
  }
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.cursor !== entries[i - 1]!.cursor + 1) problems.push(`cursor gap at ${i}: ${entries[i - 1]!.cursor} → ${entries[i]!.cursor}`);
  }
  if (problems.length > 0) throw new Error(`session log violates invariants:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return ids;
}

/**
 * A fake-model responder that answers like the echo model (`[echo] turn N: you said "…"`, N = user
 * messages it was sent, so checkEchoLog applies) and measures, per session, how many model calls
 * were in flight at once: each call holds its slot for `holdMs` before answering.
 */
export function overlapTrackingResponder(sessionOf: (text: string) => string, holdMs: () => number = () => 2 + Math.random() * 6) {
  const inFlight = new Map<string, number>();
  const stats = { calls: 0, maxPerSession: 0, maxOverall: 0, overall: 0, overlaps: [] as string[] };
  const responder = async (body: FakeChatBody): Promise<string> => {
    const users = (body.messages ?? []).filter((m) => m.role === 'user');
    const last = String(users.at(-1)?.content ?? '');
    const session = sessionOf(last);
    const n = (inFlight.get(session) ?? 0) + 1;
    inFlight.set(session, n);
    stats.calls++;
    stats.overall++;
    stats.maxOverall = Math.max(stats.maxOverall, stats.overall);
    stats.maxPerSession = Math.max(stats.maxPerSession, n);
    if (n > 1) stats.overlaps.push(`${session}: ${last} ran while ${n - 1} other call(s) of the session were in flight`);
    await sleep(holdMs());
    inFlight.set(session, (inFlight.get(session) ?? 1) - 1);
    stats.overall--;
    return `[echo] turn ${users.length}: you said "${last}"`;
  };
  return { responder, stats };
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The hooks every distributed test file needs: a fake OpenAI server for the file, and after
 * each test every worker process killed and every ingress closed. `suite.fake` is the server.
 */
export function distributedSuite(options: FakeOpenAIOptions = {}): { readonly fake: FakeOpenAI } {
  let fake: FakeOpenAI | undefined;
  beforeAll(async () => {
    fake = await startFakeOpenAI(options);
  });
  afterEach(async () => {
    await closeAllIngresses();
    await killEverything();
  });
  afterAll(async () => {
    await killEverything();
    await fake?.close();
  });
  return {
    get fake() {
      if (!fake) throw new Error('the fake OpenAI server starts in beforeAll');
      return fake;
    },
  };
}
