/**
 * The in-process platform benches' set-up: a host and the first bot of a bots.yaml in this
 * process, the adapter started, the host's ingest optionally wrapped (to time it or to note when
 * a message is enqueued).
 */
import { parseConfig } from '../../src/config/load.js';
import { checkBotEntry, createBot, type RunningBot } from '../../src/host/adapters.js';
import { createHost, type Host } from '../../src/host/host.js';
import { createLogger } from '../../src/host/logger.js';

export interface InProcessBot {
  host: Host;
  bot: RunningBot;
  /** Stops the bot, then closes the host. */
  close(): Promise<void>;
}

export async function startInProcessBot(yaml: string, options: { logLevel: 'silent' | 'warn'; wrapIngest?: (ingest: Host['ingest']) => Host['ingest'] }): Promise<InProcessBot> {
  const loaded = parseConfig(yaml, { env: {} });
  const logger = createLogger(options.logLevel);
  const host = await createHost(loaded.config, { logger, env: {} });
  if (options.wrapIngest) host.ingest = options.wrapIngest(host.ingest.bind(host));
  const bot = await createBot(await checkBotEntry(loaded, 0, loaded.config.bots[0]!), { host, logger });
  const close = async () => {
    await bot.stop();
    await host.close();
  };
  try {
    await bot.adapter.start();
  } catch (err) {
    await close();
    throw err;
  }
  return { host, bot, close };
}
