/**
 * Platform adapters from the host's side: the lazy loaders (running Telegram never loads
 * another platform's SDK), validation of a bots[] entry with the adapter's own schema through
 * the config loader (errors name `bots.yaml:LINE: bots[i].key`), and the narrow AdapterHost each
 * adapter gets.
 */
import type { z } from 'zod';
import type { AdapterHost, LeadershipSource, PlatformAdapter } from '../core/adapter.js';
import type { LoadedConfig } from '../config/load.js';
import { parseSection } from '../config/parse-section.js';
import { COMMANDS } from '../ingress/commands.js';
import type { Host } from './host.js';
import type { Logger } from './logger.js';

/** What an adapter module provides (its `<Name>AdapterConfig` and `create<Name>Adapter`). */
export interface AdapterModule {
  schema: z.ZodType;
  create(config: never, host: AdapterHost): PlatformAdapter;
}

export type AdapterLoader = () => Promise<AdapterModule>;

export const loadTelegramAdapter: AdapterLoader = async () => {
  const m = await import('../../adapters/telegram/index.js');
  return { schema: m.TelegramAdapterConfig, create: m.createTelegramAdapter as AdapterModule['create'] };
};

export type BotEntry = LoadedConfig['config']['bots'][number];

/** A bots[] entry validated by its adapter's schema, ready to create the adapter from. */
export interface CheckedAdapter {
  readonly botId: string;
  create(host: AdapterHost): PlatformAdapter;
}

/**
 * Validates `entry` (bots[index], possibly with a token filled in from the environment) with its
 * adapter's schema. Throws ConfigError naming the line. Nothing connects yet.
 */
export async function checkAdapterEntry(load: AdapterLoader, loaded: LoadedConfig, index: number, entry: BotEntry): Promise<CheckedAdapter> {
  const mod = await load();
  const config = parseSection(loaded, ['bots', index], mod.schema, entry);
  return { botId: entry.id, create: (host) => mod.create(config as never, host) };
}

export function adapterHostOf(host: Host, logger: Logger, leadership: LeadershipSource | undefined, onFatal?: (err: Error) => void): AdapterHost {
  return {
    ingest: (bot, message, reply) => host.ingest(bot, message, reply),
    delivery: host.delivery,
    logger,
    commands: COMMANDS,
    scope: host.config.session.scope,
    ...(leadership ? { leadership } : {}),
    ...(onFatal ? { onFatal } : {}),
  };
}
