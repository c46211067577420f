/**
 * `bot start`: run everything bots.yaml configures in this process. Bots that cannot run
 * (disabled, token not set, adapter not available) are skipped with the reason; the host keeps
 * running until SIGINT/SIGTERM, then drains the turns in flight and exits 0. A second Ctrl-C
 * exits at once.
 */
import type { Command } from 'commander';
import type { BotHostError } from '../core/errors.js';
import type { CheckedBot, RunningBot } from '../host/adapters.js';
import { createLogger } from '../host/logger.js';
import { action, EXIT, loadForCommand, openHost, warnAboutModels, type GlobalOptions } from './context.js';
import { waitForShutdown } from './shutdown.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run every bot and service configured in bots.yaml, in this process')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
        if (loaded.config.gateway.enabled) (await import('../gateway/auth.js')).assertGatewayUsable(loaded.config.gateway, loaded.config.gateway.host, process.env);
        const [{ checkBotEntry, createBot, skipReason }, { leadershipSourceOf }, { startRoleOps }, { Metrics }] = await Promise.all([
          import('../host/adapters.js'),
          import('../host/leadership-source.js'),
          import('../host/metrics.js'),
          import('../ops/metrics.js'),
        ]);
        // Each runnable bot's own keys are validated before anything connects (exit 2 on error).
        const skipped = new Map<number, string>();
        const checked: CheckedBot[] = [];
        for (const [i, bot] of loaded.config.bots.entries()) {
          const reason = await skipReason(loaded, i);
          if (reason) skipped.set(i, reason);
          else checked.push(await checkBotEntry(loaded, i, bot));
        }
        const logger = createLogger(process.env.LOG_LEVEL ?? loaded.config.log.level, process.env.LOG_FORMAT ?? loaded.config.log.format);
        const metrics = loaded.config.metrics.enabled ? new Metrics() : undefined;
        const host = await openHost(loaded, logger, { metrics });
        const say = (line: string) => process.stderr.write(`${line}\n`);
        const leadership = leadershipSourceOf(loaded.config, process.env, logger);
        const deps = { host, logger, ...(leadership ? { leadership } : {}), ...(metrics ? { metrics } : {}) };
        say(`bothost: config ${loaded.file ?? '(built-in defaults)'}; sessions in ${host.config.store.backend === 'file' ? host.config.store.path : host.config.store.backend}`);
        for (const n of host.notices) say(`  note: ${n}`);
        // In the background: a slow endpoint must not hold up the bots.
        void warnAboutModels(host.config, (w) => say(`  warning: ${w}`));
        for (const [i, reason] of skipped) say(`  ${loaded.config.bots[i]!.id}: skipped — ${reason}`);
        const bots: RunningBot[] = [];
        for (const c of checked) bots.push(await createBot(c, { ...deps, onFatal: (err) => say(`  ${c.botId}: stopped — ${err.message}`) }));
        const running = bots.length;
        // Started in the background: one bot that cannot connect yet must not hold up the others.
        for (const { adapter } of bots) {
          adapter.start().then(
            () => say(`  ${adapter.botId}: running${adapter.account ? ` as ${adapter.account}` : ''}`),
            (err: BotHostError) => err.code !== 'ADAPTER_STOPPED' && say(`  ${adapter.botId}: failed — ${err.message}`),
          );
        }
        // Loaded only when enabled: a bots-only process never loads the gateway.
        const gateway = loaded.config.gateway.enabled ? (await import('../gateway/gateway-server.js')).createGateway({ host, logger, ...(metrics ? { metrics } : {}) }) : undefined;
        if (gateway) {
          try {
            await gateway.start();
          } catch (err) {
            await Promise.all(bots.map((b) => b.stop()));
            await host.close();
            throw err;
          }
          say(`  gateway: web chat at ${gateway.url} (WebSocket on / and /ws)`);
        }
        // With the gateway, /metrics is on its port; without it, on metrics.host:metrics.port.
        const ops = metrics ? await startRoleOps({ config: host.config, metrics, logger, store: host.store, mountedOnGateway: gateway !== undefined, ...(host.queueRedis ? { redis: host.queueRedis } : {}) }) : undefined;
        // Handlers first, then the ready line: a supervisor that signals as soon as it reads
        // "Ctrl-C to stop" must get the graceful stop, not the default kill.
        const shutdown = waitForShutdown();
        say(
          running > 0
            ? `bothost: ${running} bot(s) running${gateway ? ` and the web chat at ${gateway.url}` : ''}. Ctrl-C to stop.`
            : gateway
              ? `bothost: open ${gateway.url} to chat (no platform bot is running yet, see above). Ctrl-C to stop.`
              : 'bothost: no bot is running yet (see above). Try `npx bot chat` to talk to the agent here. Ctrl-C to stop.',
        );
        await shutdown;
        say('bothost: stopping — finishing turns in flight…');
        ops?.drain();
        await Promise.all([...bots.map((b) => b.stop()), gateway?.stop()]);
        await ops?.close();
        await host.close();
        leadership?.close();
        say('bothost: stopped.');
        return EXIT.ok;
      }),
    );
}
