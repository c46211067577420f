/**
 * What the platform benches (telegram, discord, slack) share around a spawned `bot <platform>`:
 * a bots.yaml in a fresh home, the process — and in BullMQ mode one `bot worker` — started until
 * ready and stopped after the measurement, the fake servers closed after that; BullMQ runs use a
 * fresh Redis prefix whose keys are removed at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { echoReply } from '../../src/models/echo-model.js';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { spawnCli, stop, waitFor, type Proc } from './cli-procs.js';
import { deleteKeys } from './redis-keys.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The agents line of a bots.yaml whose turns run the echo model. */
export const ECHO_AGENT = 'agents: { assistant: { model: echo } }';

/** The platform process under test: its `bot` subcommand and the fake credentials it runs with. */
export interface PlatformCommand {
  command: 'telegram' | 'discord' | 'slack';
  env: Record<string, string>;
}

export interface BotRunOptions {
  /** Start one `bot worker` too (the config's queue is BullMQ), ready before the platform process. */
  worker?: boolean;
  /** More environment for the platform process (e.g. a fake model's URL). */
  env?: Record<string, string>;
  /** How the platform process is stopped (default SIGTERM; SIGKILL when its turns would take long to finish). */
  stopSignal?: NodeJS.Signals;
  /** Fake servers the run talks to, closed once the processes have stopped. */
  closeAfter?: Array<{ close(): Promise<void> }>;
}

/**
 * Writes `yaml` (plus `log: { level: warn }`) as bots.yaml in a new home under `dir`, starts
 * `bot --config bots.yaml <command>`, waits for its "running" line (and the worker's "worker
 * ready"), runs `measure`, then stops the processes and closes `closeAfter`.
 */
export async function withBotProcess(dir: string, platform: PlatformCommand, yaml: string[], measure: (proc: Proc) => Promise<void>, options: BotRunOptions = {}): Promise<void> {
  const procs: Array<{ proc: Proc; signal?: NodeJS.Signals }> = [];
  try {
    const home = await mkdtemp(path.join(dir, 'home-'));
    const config = path.join(home, 'bots.yaml');
    await writeFile(config, [...yaml, 'log: { level: warn }', ''].join('\n'));
    const worker = options.worker ? spawnCli(home, ['--config', config, 'worker'], { ...platform.env, LOG_LEVEL: 'info' }) : undefined;
    if (worker) procs.push({ proc: worker });
    const proc = spawnCli(home, ['--config', config, platform.command], { ...platform.env, ...options.env });
    procs.push({ proc, ...(options.stopSignal ? { signal: options.stopSignal } : {}) });
    if (worker) await waitFor(() => /worker ready/.test(worker.stderr()), 30_000, 'worker ready', worker);
    await waitFor(() => /running/.test(proc.stderr()), 30_000, `bot ${platform.command} ready`, proc);
    await measure(proc);
  } finally {
    await Promise.all(procs.map(({ proc, signal }) => stop(proc, signal)));
    await Promise.all((options.closeAfter ?? []).map((server) => server.close()));
  }
}

/**
 * Runs `measure` with the bots.yaml lines of a Redis store and a BullMQ queue (concurrency 10)
 * under a fresh prefix starting with `tag`; every key under that prefix is removed afterwards.
 */
export async function withBullMQConfig(tag: string, measure: (yaml: string[]) => Promise<void>): Promise<void> {
  const prefix = `${tag}-${randomUUID().slice(0, 8)}`;
  try {
    await measure([`store: { backend: redis, url: "${REDIS_URL}", prefix: ${prefix} }`, `queue: { backend: bullmq, concurrency: 10, name: q-${prefix} }`]);
  } finally {
    const client = connectRedis(REDIS_URL);
    await deleteKeys(client, prefix);
    client.disconnect();
  }
}

/**
 * Sends `perUser` messages from each of `users` users at once, then resolves with messages/s once
 * the echo model's reply to every one of them is shown: `send(user, text)` delivers one message
 * and returns the chat it lands in, `shown(chat)` is the text of what the bot has posted there.
 */
export async function echoThroughput<Chat>(proc: Proc, users: number, perUser: number, send: (user: number, text: string) => Chat, shown: (chat: Chat) => string[]): Promise<number> {
  const expected = new Map<Chat, string[]>();
  const t0 = performance.now();
  for (let u = 0; u < users; u++) {
    const sent: string[] = [];
    for (let k = 1; k <= perUser; k++) {
      const text = `u${u}m${k}`;
      sent.push(text);
      const chat = send(u, text);
      const replies = expected.get(chat) ?? [];
      replies.push(echoReply(sent.map((content) => ({ role: 'user' as const, content }))));
      expected.set(chat, replies);
    }
  }
  const done = () => {
    for (const [chat, replies] of expected) {
      const posted = new Set(shown(chat));
      if (!replies.every((r) => posted.has(r))) return false;
    }
    return true;
  };
  await waitFor(done, 300_000, 'every reply', proc);
  return (users * perUser) / ((performance.now() - t0) / 1000);
}
