/**
 * `bot telegram`: run one Telegram bot in this process. The bot is the bots.yaml telegram entry
 * named by `--bot` (default: the first one; none: built-in defaults); the token is
 * TELEGRAM_BOT_TOKEN when set, else the entry's `token` (with `--bot`: the entry's first). SIGINT/SIGTERM stop receiving, finish
 * the turns in flight (their replies are still sent) and exit 0.
 */
import type { Command } from 'commander';
import { BotHostError, UnknownNameError } from '../core/errors.js';
import type { LoadedConfig } from '../config/load.js';
import { adapterHostOf, checkAdapterEntry, loadTelegramAdapter, type BotEntry } from '../host/adapters.js';
import { leadershipSourceOf } from '../host/leadership-source.js';
import { createLogger } from '../host/logger.js';
import { action, EXIT, loadForCommand, openHost, type GlobalOptions } from './context.js';
import { waitForShutdown } from './shutdown.js';

export const TOKEN_ENV = 'TELEGRAM_BOT_TOKEN';

/** The entry to run and its index in bots[] (-1: built-in defaults), token filled in. */
export function pickTelegramEntry(loaded: LoadedConfig, botId: string | undefined, env: Record<string, string | undefined>): { entry: BotEntry; index: number } {
  const bots = loaded.config.bots;
  const telegram = bots.map((b, i) => ({ b, i })).filter(({ b }) => b.platform === 'telegram');
  let found = telegram[0];
  if (botId !== undefined) {
    found = telegram.find(({ b }) => b.id === botId);
    if (!found) throw new UnknownNameError('telegram bot', botId, telegram.map(({ b }) => b.id));
  }
  const base: BotEntry = found?.b ?? {
    platform: 'telegram',
    id: 'telegram',
    agent: Object.keys(loaded.config.agents)[0]!,
    enabled: true,
    allowed_users: [],
    unknown_user_policy: 'allow',
    group_policy: 'mention_only',
  };
  // `--bot` names an entry, so its own token wins; otherwise the environment does (the usual
  // `TELEGRAM_BOT_TOKEN=… npx bot telegram`).
  const fromEnv = env[TOKEN_ENV]?.trim() || undefined;
  const token = botId !== undefined ? (base.token ?? fromEnv) : (fromEnv ?? base.token);
  if (!token) {
    const where = found ? `bots[${found.i}].token in ${loaded.file ?? 'bots.yaml'}` : `a telegram entry in ${loaded.file ?? 'bots.yaml'} (bots: [{ platform: telegram, token: \${${TOKEN_ENV}} }])`;
    throw new BotHostError('TELEGRAM_TOKEN_MISSING', `${TOKEN_ENV} is not set and no token is configured: export ${TOKEN_ENV}=<token from @BotFather> or set ${where}`);
  }
  return { entry: { ...base, token }, index: found?.i ?? -1 };
}

export function registerTelegram(program: Command): void {
  program
    .command('telegram')
    .description(`run a Telegram bot (token from $${TOKEN_ENV} or bots.yaml)`)
    .option('-b, --bot <id>', 'which telegram entry of bots.yaml (default: the first)')
    .addHelpText('after', `\nExamples:\n  ${TOKEN_ENV}=123456:ABC… npx bot telegram\n  npx bot telegram --bot support   # bots.yaml entry with id: support`)
    .action(
      action(async (opts: { bot?: string }, cmd: Command) => {
        const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
        const { entry, index } = pickTelegramEntry(loaded, opts.bot, process.env);
        // Validated before anything connects: a config error must not wait for Redis.
        const checked = await checkAdapterEntry(loadTelegramAdapter, loaded, Math.max(index, 0), entry);
        const logger = createLogger(process.env.LOG_LEVEL ?? loaded.config.log.level);
        const say = (line: string) => process.stderr.write(`${line}\n`);
        const leadership = leadershipSourceOf(loaded.config, process.env, logger);
        const host = await openHost(loaded, logger);
        for (const n of host.notices) say(`  note: ${n}`);

        let failure: Error | undefined;
        let failed!: () => void;
        const stoppedByFailure = new Promise<void>((resolve) => (failed = resolve));
        const fail = (err: Error) => {
          failure ??= err;
          failed();
        };
        const adapter = checked.create(adapterHostOf(host, logger, leadership, fail));
        // Handlers before the ready line, as in `bot start`.
        const shutdown = waitForShutdown();
        adapter.start().then(() => {
          const sessions = host.config.store.backend === 'file' ? host.config.store.path : host.config.store.backend;
          say(`bothost: telegram bot ${adapter.account ?? entry.id} running (sessions in ${sessions}). Ctrl-C to stop.`);
        }, fail);
        await Promise.race([shutdown, stoppedByFailure]);
        // Read before stopping: a start still retrying ends with ADAPTER_STOPPED, which is no failure.
        const reason = failure;
        say('bothost: stopping — finishing turns in flight…');
        await adapter.stop();
        await host.close();
        leadership?.close();
        if (reason) throw reason;
        say('bothost: stopped.');
        return EXIT.ok;
      }),
    );
}
