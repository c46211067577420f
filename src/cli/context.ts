/**
 * What every command needs: the loaded config, a logger, a host — and turning errors into exit
 * codes. Every command module imports this at startup, so the config loader (yaml, zod) and the
 * host are imported only when a command asks for them.
 */
import { BotHostError, ConfigError } from '../core/errors.js';
import type { LoadedConfig } from '../config/load.js';
import type { Host } from '../host/host.js';
import { deferredLogger, processSecrets, type Logger } from '../host/logger.js';
import { collectSecrets } from '../host/secrets.js';
import type { BotsConfig } from '../config/schema.js';
import type { Metrics } from '../ops/metrics.js';
import { EXIT } from './exit-codes.js';

export { EXIT };

export interface GlobalOptions {
  config?: string;
}

/** Loads bots.yaml; from then on its secrets (and the environment's) are redacted from all output. */
export async function loadForCommand(options: GlobalOptions): Promise<LoadedConfig> {
  processSecrets.add(collectSecrets(undefined, process.env));
  // Without a bots.yaml the built-in defaults need neither the YAML parser nor the schema.
  const { resolveConfigPath } = await import('../config/config-path.js');
  const file = resolveConfigPath(options.config, process.env);
  const loaded = file === null ? (await import('../config/builtin-config.js')).builtinConfig() : await (await import('../config/load.js')).loadConfig(file, process.env);
  processSecrets.add(collectSecrets(loaded.config, process.env));
  return loaded;
}

/** `options.terminal`: the host serves only the terminal chat (no platform, so no inbound spool). */
export async function openHost(loaded: LoadedConfig, logger: Logger, options: { metrics?: Metrics; terminal?: boolean } = {}): Promise<Host> {
  const { createHost } = await import('../host/host.js');
  const { metrics, terminal } = options;
  return createHost(loaded.config, { logger, env: process.env, ...(metrics ? { metrics } : {}), ...(terminal ? { inboundSpool: false } : {}) });
}

/**
 * A role that runs turns (an embedded host, a worker) checks each agent's model endpoint once at
 * start-up and says what is wrong, one line per agent; it never refuses to start. In distributed
 * mode the ingress roles run no turns (the workers do, with their own check), so they skip it.
 */
export async function warnAboutModels(config: BotsConfig, say: (line: string) => void, options: { worker?: boolean } = {}): Promise<void> {
  if (config.queue.backend === 'bullmq' && !options.worker) return;
  try {
    // Echo agents need no check: the checker's module is not even loaded for them.
    const { usesEcho } = await import('../models/create-model.js');
    if (Object.values(config.agents).every((a) => usesEcho(a, process.env))) return;
    const { modelEndpointWarnings } = await import('../models/endpoint-check.js');
    for (const line of await modelEndpointWarnings(config.agents, process.env)) say(line);
  } catch {
    // The check is advice: it must never take a role down.
  }
}

export function commandLogger(level?: string): Logger {
  return deferredLogger(level ?? process.env.LOG_LEVEL ?? 'warn');
}

/** Print an error the way an operator can act on (secrets redacted), and pick the exit code. */
export function reportError(err: unknown): number {
  const print = (line: string) => process.stderr.write(processSecrets.redact(line));
  if (err instanceof ConfigError) {
    print(`config error: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof BotHostError) {
    print(`error (${err.code}): ${err.message}\n`);
    return err.code === 'UNKNOWN_NAME' || err.code === 'INVALID_SESSION_ID' ? EXIT.usage : EXIT.failure;
  }
  print(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failure;
}

/** Run a command body; exit with its code (or the error's). */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = (await fn(...args)) ?? EXIT.ok;
    } catch (err) {
      // Exit now: a half-started command may hold connections that would keep it alive
      // (stderr is synchronous on pipes and files, so the report is not lost).
      process.exit(reportError(err));
    }
    process.exitCode = code;
  };
}
