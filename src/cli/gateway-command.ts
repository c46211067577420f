/**
 * `bot gateway`: the WebSocket gateway and web chat on its own (whatever `gateway.enabled` says),
 * and `bot gateway token <identity>`: mint a signed token for a client.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { BotHostError } from '../core/errors.js';
import { SECRET_ENV } from '../gateway/constants.js';
import { createLogger } from '../host/logger.js';
import { action, EXIT, loadForCommand, openHost, warnAboutModels, type GlobalOptions } from './context.js';
import { waitForShutdown } from './shutdown.js';

const portNumber = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > 65_535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${v}"`);
  return n;
};
const seconds = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${v}"`);
  return n;
};

export function registerGateway(program: Command): void {
  const gateway = program
    .command('gateway')
    .description('run the WebSocket gateway and the web chat (default http://127.0.0.1:8765/)')
    .option('--port <n>', 'port (default gateway.port; 0 picks a free one)', portNumber)
    .option('--host <address>', 'address to listen on (default gateway.host)')
    .action(
      action(async (opts: { port?: number; host?: string }, cmd: Command) => {
        const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
        const { assertGatewayUsable } = await import('../gateway/auth.js');
        assertGatewayUsable(loaded.config.gateway, opts.host ?? loaded.config.gateway.host, process.env);
        const [{ createGateway }, { startRoleOps }, { Metrics }] = await Promise.all([import('../gateway/gateway-server.js'), import('../host/metrics.js'), import('../ops/metrics.js')]);
        const logger = createLogger(process.env.LOG_LEVEL ?? loaded.config.log.level, process.env.LOG_FORMAT ?? loaded.config.log.format);
        const metrics = loaded.config.metrics.enabled ? new Metrics() : undefined;
        const host = await openHost(loaded, logger, { metrics });
        const say = (line: string) => process.stderr.write(`${line}\n`);
        for (const n of host.notices) say(`  note: ${n}`);
        void warnAboutModels(host.config, (w) => say(`  warning: ${w}`));
        const gw = createGateway({ host, logger, ...(metrics ? { metrics } : {}), ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { listenHost: opts.host } : {}) });
        try {
          await gw.start();
        } catch (err) {
          await host.close();
          throw err;
        }
        for (const n of gw.notices) say(`  note: ${n}`);
        // /metrics is served on the gateway's own port; this only adds the queue gauges.
        const ops = metrics ? await startRoleOps({ config: host.config, metrics, logger, store: host.store, mountedOnGateway: true, ...(host.queueRedis ? { redis: host.queueRedis } : {}) }) : undefined;
        const shutdown = waitForShutdown();
        say(`bothost gateway: web chat at ${gw.url} (WebSocket on / and /ws). Ctrl-C to stop.`);
        await shutdown;
        say('bothost gateway: stopping — finishing turns in flight…');
        await gw.stop();
        await ops?.close();
        await host.close();
        say('bothost gateway: stopped.');
        return EXIT.ok;
      }),
    );

  gateway
    .command('token <identity>')
    .description(`mint a signed token for a gateway client (needs gateway.auth.secret or $${SECRET_ENV})`)
    .option('--ttl <seconds>', 'how long it stays valid (default gateway.auth.token_ttl)', seconds)
    .action(
      action(async (identity: string, opts: { ttl?: number }, cmd: Command) => {
        const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
        const { gatewaySecret, mintToken } = await import('../gateway/auth.js');
        const secret = gatewaySecret(loaded.config.gateway, process.env);
        if (!secret) {
          throw new BotHostError('NO_SECRET', `no signing secret: set ${SECRET_ENV} (16+ random characters) or gateway.auth.secret in bots.yaml`);
        }
        if (secret.length < 16) throw new BotHostError('NO_SECRET', `${SECRET_ENV} is too short; use 16+ random characters`);
        process.stdout.write(`${mintToken(secret, identity, opts.ttl ?? loaded.config.gateway.auth.token_ttl)}\n`);
        return EXIT.ok;
      }),
    );
}
