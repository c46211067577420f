/** What every `bot session …` subcommand shares: the store (with --store), the hierarchy over it, printing. */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { STORE_BACKENDS } from '../config/defaults.js';
import type { LoadedConfig } from '../config/load.js';
import type { BotsConfig } from '../config/schema.js';
import type { HierarchicalSessionStore } from '../sessions/hierarchy/hierarchical-session-store.js';
import { commandLogger, loadForCommand, type GlobalOptions } from './context.js';

export interface StoreOption {
  store?: string;
}

/** Environment variables a backend named by --store falls back to when bots.yaml configures another one. */
const URL_ENV: Readonly<Record<string, string>> = Object.freeze({ redis: 'REDIS_URL', postgres: 'DATABASE_URL' });

export function addStoreOption(cmd: Command): Command {
  return cmd.option('--store <backend>', `session store to use instead of bots.yaml's store.backend (${STORE_BACKENDS.filter((b) => b !== 'memory').join('|')})`);
}

/** bots.yaml's store, or the backend named by --store (its URL from bots.yaml when it is the configured backend, else the environment). */
export function storeConfig(config: BotsConfig, backend: string | undefined): BotsConfig['store'] {
  if (backend === undefined || backend === config.store.backend) return config.store;
  if (!(STORE_BACKENDS as readonly string[]).includes(backend) || backend === 'memory') {
    throw new ConfigError(`--store "${backend}" is not a session store; choose one of ${STORE_BACKENDS.filter((b) => b !== 'memory').join(', ')}`, 'store.backend');
  }
  const envName = URL_ENV[backend];
  const url = envName ? process.env[envName] : undefined;
  if (envName && !url) throw new ConfigError(`--store ${backend} needs a URL: set ${envName} or store.url in bots.yaml (with store.backend: ${backend})`, 'store.url');
  return { ...config.store, backend: backend as BotsConfig['store']['backend'], ...(url ? { url } : {}) };
}

/** The config with --store applied, for commands that open a whole host (resume). */
export async function loadWithStore(cmd: Command): Promise<LoadedConfig> {
  const opts = cmd.optsWithGlobals<GlobalOptions & StoreOption>();
  const loaded = await loadForCommand(opts);
  return { ...loaded, config: { ...loaded.config, store: storeConfig(loaded.config, opts.store) } };
}

/** Runs `fn` with every session the host serves (the configured store and the gateway's) and always closes them (an open client keeps the process alive). */
export async function withSessions<T>(cmd: Command, fn: (sessions: HierarchicalSessionStore) => Promise<T>): Promise<T> {
  const loaded = await loadWithStore(cmd);
  // Imported here, not at the top: every `bot` command loads this file at startup.
  const [{ withGatewaySessions }, { createStore }, { HierarchicalSessionStore }] = await Promise.all([
    import('../sessions/web-sessions.js'),
    import('../host/create-store.js'),
    import('../sessions/hierarchy/hierarchical-session-store.js'),
  ]);
  const logger = commandLogger();
  const warn = { warn: (m: string) => logger.warn(m) };
  // The same routing the host uses, so gateway sessions (kept apart when the gateway persists to its own files) are listed too.
  const store = withGatewaySessions(loaded.config, await createStore(loaded.config.store, warn), warn);
  const sessions = new HierarchicalSessionStore(store);
  try {
    return await fn(sessions);
  } finally {
    await store.close();
  }
}

export const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export const out = (text: string) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

export const printJson = (value: unknown) => out(JSON.stringify(value, null, 2));

/** A non-negative integer option, or a usage error naming the option. */
export function cursorArg(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`${name} must be a non-negative integer; got "${v}"`);
    return Number(v);
  };
}

/** Ids are printed JSON-quoted when they hold anything a terminal could misread. */
export function showId(id: string): string {
  return /^[\w.:@+-]{1,200}$/.test(id) ? id : JSON.stringify(id.length > 200 ? `${id.slice(0, 200)}…` : id);
}
