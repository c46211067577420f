/**
 * Harness for the distributed-mode tests (test/distributed): real `bot worker` OS processes,
 * an in-test ingress built from the real pieces (connectRedis + BullMQTurnQueue +
 * DeliveryRouter + OutboxRoutes + subscribePartials + RedisSessionStore), and the per-file
 * set-ups (`distributedSuite`, `cliWorkerSuite`, `postgresSchemaForFile`). Redis fixtures,
 * polling and the echo-log checks live in their own files and are re-exported here.
 *
 * Every process spawned here is tracked; call `killEverything()` in afterEach/afterAll.
 * The shared Redis (REDIS_URL or 127.0.0.1:6379) must be reachable; without it these tests fail loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from './fake-openai-server.js';
import type { WorkerOptions } from '../../src/cli/worker-actions.js';
import type { TurnRequest, TurnResult } from '../../src/core/turn-queue.js';
import { BullMQTurnQueue } from '../../src/queue/bullmq-turn-queue.js';
import { inboxIndexKey, inboxKeys } from '../../src/queue/inbox-keys.js';
import { subscribePartials } from '../../src/queue/redis-delivery.js';
import { OutboxRoutes } from '../../src/queue/outbox-routes.js';
import type { OutboxEvent } from '../../src/queue/outbox-consumer.js';
import { DeliveryRouter } from '../../src/host/delivery-router.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import type { SessionEntry } from '../../src/core/session-store.js';
import { DATABASE_URL, connectPostgres, dropSchema, uniqueSchema } from '../sessions/pg-test-env.js';
import { deleteKeysWithPrefix, destroyOwnRedises, openRedis, SHARED_REDIS_URL, uniqueNames } from './redis-fixtures.js';
import { assertBuilt, CLI_ENTRY, cliEnv, killAllCli, makeSandbox, type Sandbox } from './run-cli.js';
import { sleep } from './wait-for.js';

export { checkEchoLog, overlapTrackingResponder } from './echo-log-checks.js';
export { deleteKeysWithPrefix, freePort, keysWithPrefix, openRedis, OwnRedis, SHARED_REDIS_URL, uniqueNames } from './redis-fixtures.js';
export { sleep, waitFor } from './wait-for.js';

export const BOT_ID = 'b';

/** `bot worker` options, in ms (see `bot worker --help`): the CLI's own option type. */
export type WorkerFlags = WorkerOptions;

/** Short timings for CI; lease TTL < lock duration, as in production. */
export const FAST_WORKER_FLAGS: Readonly<Required<Omit<WorkerFlags, 'concurrency' | 'turnTimeout'>>> = Object.freeze({
  leaseTtl: 1500,
  lockDuration: 3000,
  stalledInterval: 1000,
  sweepInterval: 1000,
  orphanAge: 2000,
});

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
  /** Run the workers on the Postgres store (DATABASE_URL) in this schema; turns stay in Redis. */
  postgresSchema?: string;
}

export function botsYaml(o: ConfigOptions): string {
  const url = o.redisUrl ?? SHARED_REDIS_URL;
  return [
    `agents: { assistant: { model: ${o.model ?? 'echo'}, max_history: 100000 } }`,
    o.postgresSchema === undefined
      ? `store: { backend: redis, url: "${url}", prefix: "${o.prefix}", max_messages: 100000 }`
      : `store: { backend: postgres, url: "${DATABASE_URL}", schema: ${o.postgresSchema}, prefix: "${o.prefix}" }`,
    `queue: { backend: ${o.backend ?? 'bullmq'}, concurrency: ${o.concurrency ?? 4}, name: "${o.queueName}"${o.postgresSchema === undefined ? '' : `, redis_url: "${url}"`} }`,
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
    if (f.turnTimeout !== undefined) args.push('--turn-timeout', String(f.turnTimeout));
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

  /** How many of this worker's log lines so far match `pattern`. */
  countLog(pattern: RegExp): number {
    return this.err.split('\n').filter((line) => pattern.test(line)).length;
  }

  /** The `time` of this worker's latest log line matching `pattern` (0: none yet). */
  lastLogTime(pattern: RegExp): number {
    const lines = this.err.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      if (pattern.test(lines[i]!)) return Number(/"time":(\d+)/.exec(lines[i]!)?.[1] ?? 0);
    }
    return 0;
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
  await destroyOwnRedises();
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

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Options of `suite.setUp`: a bots.yaml's, less the names it makes up. */
export interface SetUpOptions extends Omit<ConfigOptions, 'prefix' | 'queueName' | 'model'> {
  /** The agents' model: the file's fake OpenAI server (true) or the built-in echo model (default). */
  fakeModel?: boolean;
}

/** One test's unique names, its bots.yaml, and an ingress on the same prefix and Redis. */
export interface TestSetUp {
  prefix: string;
  queueName: string;
  env: Env;
  ingress: Ingress;
}

/**
 * The hooks every distributed test file needs: a fake OpenAI server for the file, and after
 * each test every worker process killed and every ingress closed. `suite.fake` is the server;
 * `suite.setUp(tag)` gives a test its names, config and ingress.
 */
export function distributedSuite(options: FakeOpenAIOptions = {}): { readonly fake: FakeOpenAI; setUp(tag: string, options?: SetUpOptions): Promise<TestSetUp> } {
  let fake: FakeOpenAI | undefined;
  const fakeServer = (): FakeOpenAI => {
    if (!fake) throw new Error('the fake OpenAI server starts in beforeAll');
    return fake;
  };
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
      return fakeServer();
    },
    async setUp(tag, { fakeModel = false, ...config } = {}) {
      const { prefix, queueName } = uniqueNames(tag);
      const env = fakeModel
        ? await makeEnv({ prefix, queueName, ...config, model: 'fake-model' }, fakeModelEnv(fakeServer().url))
        : await makeEnv({ prefix, queueName, ...config });
      const ingress = await Ingress.open(prefix, queueName, config.redisUrl);
      return { prefix, queueName, env, ingress };
    },
  };
}

/**
 * For tests that drive `bot` CLI commands against a `bot worker` (echo model): after each test
 * the CLI children and the workers are killed; after the file, the keys of every prefix handed
 * out are deleted. `start(tag)` writes a bots.yaml on unique names and starts one ready worker.
 */
export function cliWorkerSuite(): { start(tag: string): Promise<{ env: Env; worker: WorkerProc }> } {
  const prefixes: string[] = [];
  afterEach(async () => {
    killAllCli();
    await killEverything();
  });
  afterAll(async () => {
    const redis = await openRedis();
    for (const p of prefixes) await deleteKeysWithPrefix(redis, p);
    redis.disconnect();
  });
  return {
    async start(tag) {
      const { prefix, queueName } = uniqueNames(tag);
      prefixes.push(prefix);
      const env = await makeEnv({ prefix, queueName });
      const worker = startWorker('w1', env);
      await worker.ready();
      return { env, worker };
    },
  };
}

/**
 * A fresh Postgres schema for this file's workers (pass it as `postgresSchema`), dropped after
 * the file. `admin` is a pool for reading what the workers wrote.
 */
export function postgresSchemaForFile(): { readonly schema: string; readonly admin: pg.Pool } {
  const schema = uniqueSchema();
  let admin: pg.Pool | undefined;
  beforeAll(async () => {
    admin = await connectPostgres();
  });
  afterAll(async () => {
    if (!admin) return;
    await dropSchema(admin, schema);
    await admin.end();
  });
  return {
    schema,
    get admin() {
      if (!admin) throw new Error('the Postgres pool opens in beforeAll');
      return admin;
    },
  };
}
