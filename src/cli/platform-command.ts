/**
 * `bot <platform> [action] [--bot id]`, one command per platform of the catalog: run one bot of
 * that platform in this process, or one of the platform's own actions (`bot whatsapp login`).
 *
 * The bot is the bots.yaml entry of that platform named by `--bot` (default: the first; none:
 * built-in defaults). Credentials come from the platform's environment variables
 * (`TELEGRAM_BOT_TOKEN`, …) when set, else from the entry; with `--bot` the entry's own values
 * win. SIGINT/SIGTERM stop receiving, finish the turns in flight (their replies are still sent)
 * and exit 0.
 */
import { Command } from 'commander';
import type { AdapterDefinition } from '../core/adapter.js';
import { BotHostError, UnknownNameError } from '../core/errors.js';
import type { LoadedConfig } from '../config/load.js';
import type { BotEntry } from '../host/adapters.js';
import { loadDefinition, PLATFORMS } from '../host/catalog.js';
import { createLogger } from '../host/logger.js';
import { action, EXIT, loadForCommand, openHost, warnAboutModels, type GlobalOptions } from './context.js';
import { waitForShutdown } from './shutdown.js';

/** The entry to run and its index in bots[] (-1: built-in defaults), credentials filled in. */
export async function pickEntry(
  loaded: LoadedConfig,
  definition: AdapterDefinition,
  botId: string | undefined,
  env: Record<string, string | undefined>,
): Promise<{ entry: BotEntry; index: number }> {
  const { platform } = definition;
  const candidates = loaded.config.bots.map((b, i) => ({ b, i })).filter(({ b }) => b.platform === platform);
  let found = candidates[0];
  if (botId !== undefined) {
    found = candidates.find(({ b }) => b.id === botId);
    if (!found) throw new UnknownNameError(`${platform} bot`, botId, candidates.map(({ b }) => b.id));
  }
  const base: BotEntry = found?.b ?? {
    platform: platform as BotEntry['platform'],
    id: platform,
    agent: Object.keys(loaded.config.agents)[0]!,
    enabled: true,
    allowed_users: [],
    unknown_user_policy: 'allow',
    group_policy: 'mention_only',
  };
  const entry: Record<string, unknown> = { ...base };
  for (const [key, variable] of Object.entries(definition.env)) {
    const fromEnv = env[variable]?.trim() || undefined;
    const value = botId !== undefined ? (entry[key] ?? fromEnv) : (fromEnv ?? entry[key]);
    if (value !== undefined) entry[key] = value;
  }
  const index = found?.i ?? -1;
  const { entryLocation } = await import('../host/adapters.js');
  const missing = await definition.missing(entry, entryLocation(loaded, platform, index));
  if (missing) throw new BotHostError(`${platform.toUpperCase()}_NOT_READY`, missing);
  return { entry: entry as BotEntry, index };
}

async function runBot(definition: AdapterDefinition, opts: { bot?: string }, cmd: Command): Promise<number> {
  const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  const [{ checkBotEntry, createBot }, { leadershipSourceOf }, { startRoleOps }, { Metrics }] = await Promise.all([
    import('../host/adapters.js'),
    import('../host/leadership-source.js'),
    import('../host/metrics.js'),
    import('../ops/metrics.js'),
  ]);
  let picked: { entry: BotEntry; index: number };
  try {
    picked = await pickEntry(loaded, definition, opts.bot, process.env);
  } catch (err) {
    // A platform that links interactively (WhatsApp's `login`) links first, then runs.
    if (!(err instanceof BotHostError) || err.code !== `${definition.platform.toUpperCase()}_NOT_READY` || !definition.actions?.login) throw err;
    process.stderr.write(`bothost: ${err.message}; linking now\n`);
    const linked = await runAction(definition, 'login', [], opts, cmd);
    if (linked !== EXIT.ok) return linked;
    picked = await pickEntry(loaded, definition, opts.bot, process.env);
  }
  const { entry, index } = picked;
  // Validated before anything connects: a config error must not wait for Redis.
  const checked = await checkBotEntry(loaded, index, entry);
  const logger = createLogger(process.env.LOG_LEVEL ?? loaded.config.log.level, process.env.LOG_FORMAT ?? loaded.config.log.format);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const leadership = leadershipSourceOf(loaded.config, process.env, logger);
  const metrics = loaded.config.metrics.enabled ? new Metrics() : undefined;
  const host = await openHost(loaded, logger, { metrics });
  for (const n of host.notices) say(`  note: ${n}`);
  void warnAboutModels(host.config, (w) => say(`  warning: ${w}`));

  let failure: Error | undefined;
  let failed!: () => void;
  const stoppedByFailure = new Promise<void>((resolve) => (failed = resolve));
  const fail = (err: Error) => {
    failure ??= err;
    failed();
  };
  const bot = await createBot(checked, { host, logger, ...(leadership ? { leadership } : {}), ...(metrics ? { metrics } : {}), onFatal: fail });
  const ops = metrics ? await startRoleOps({ config: host.config, metrics, logger, store: host.store, ...(host.queueRedis ? { redis: host.queueRedis } : {}) }) : undefined;
  // Handlers before the ready line, as in `bot start`.
  const shutdown = waitForShutdown();
  bot.adapter.start().then(() => {
    const sessions = host.config.store.backend === 'file' ? host.config.store.path : host.config.store.backend;
    say(`bothost: ${definition.platform} bot ${bot.adapter.account ?? entry.id} running (sessions in ${sessions}). Ctrl-C to stop.`);
  }, fail);
  await Promise.race([shutdown, stoppedByFailure]);
  // Read before stopping: a start still retrying ends with ADAPTER_STOPPED, which is no failure.
  const reason = failure;
  say('bothost: stopping — finishing turns in flight…');
  ops?.drain();
  await bot.stop();
  await ops?.close();
  await host.close();
  leadership?.close();
  if (reason) throw reason;
  say('bothost: stopped.');
  return EXIT.ok;
}

async function runAction(definition: AdapterDefinition, name: string, rest: string[], opts: { bot?: string }, cmd: Command): Promise<number> {
  const act = definition.actions?.[name];
  if (!act) throw new UnknownNameError(`${definition.platform} action`, name, Object.keys(definition.actions ?? {}));
  const sub = new Command(`${definition.platform} ${name}`).exitOverride().allowExcessArguments(true);
  for (const [flags, description] of act.options ?? []) sub.option(flags, description);
  sub.parse(rest, { from: 'user' });
  const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  const [{ botKeyValue, checkBotEntry }, { createStore }, { leadershipSourceOf }] = await Promise.all([
    import('../host/adapters.js'),
    import('../host/create-store.js'),
    import('../host/leadership-source.js'),
  ]);
  const { entry, index } = await pickEntry(loaded, { ...definition, missing: () => null }, opts.bot, process.env);
  const checked = await checkBotEntry(loaded, index, entry);
  const logger = createLogger(process.env.LOG_LEVEL ?? loaded.config.log.level);
  const leadership = leadershipSourceOf(loaded.config, process.env, logger);
  // The store only for its key-value state (a linked device's keys live with the sessions).
  const store = await createStore(loaded.config.store, { warn: (m) => logger.warn(m) });
  try {
    return await act.run(checked.config, {
      args: sub.args,
      options: sub.opts(),
      say: (line) => process.stderr.write(`${line}\n`),
      logger,
      ...(leadership ? { leadership } : {}),
      ...(store.keyValue ? { keyValue: botKeyValue(store, checked.botId) } : {}),
    });
  } finally {
    leadership?.close();
    await store.close();
  }
}

export function registerPlatforms(program: Command): void {
  for (const [platform, { title, help }] of Object.entries(PLATFORMS)) {
    program
      .command(platform)
      .description(`run a ${title} bot (credentials from the environment or bots.yaml); \`bot ${platform} --help\` for its actions`)
      .argument('[action]', 'a platform action (see below); none: run the bot')
      .argument('[args...]', 'the action\'s arguments and options')
      .option('-b, --bot <id>', `which ${platform} entry of bots.yaml (default: the first)`)
      .allowUnknownOption(true)
      .helpOption('-h, --help')
      .action(
        action(async (name: string | undefined, rest: string[], opts: { bot?: string }, cmd: Command) => {
          const definition = await loadDefinition(platform);
          if (name === undefined) return runBot(definition, opts, cmd);
          return runAction(definition, name, rest, opts, cmd);
        }),
      )
      .addHelpText('after', `\n${help}\n`);
  }
}
