/**
 * `bot doctor`'s checks of what the host talks to: each agent's model endpoint (reachable, key
 * accepted, model listed by `GET <base>/models`), each bot's credentials and platform settings
 * (platform-checks.ts), and whether the gateway and metrics listeners are exposed without
 * protection. Secrets are used, never shown: every text from outside goes through redactSecrets.
 */
import type { LoadedConfig } from '../../config/load.js';
import type { BotsConfig } from '../../config/schema.js';
import { gatewayAuthConfigured, isLoopbackListenAddress, SECRET_ENV } from '../../gateway/auth.js';
import { checkBotEntry, skipReason } from '../../host/adapters.js';
import { checkModelEndpoint } from '../../models/endpoint-check.js';
import { fail, ok, redactSecrets, warn, type CheckResult } from '../../ops/doctor-report.js';
import { DOCTOR_DEFAULTS } from './infra-checks.js';
import { checkDiscord, checkSlack, checkTelegram, checkWhatsApp, networkError } from './platform-checks.js';

type Env = Record<string, string | undefined>;

/** One check per agent with a real model (echo needs nothing): the same check roles run at start-up. */
export async function checkModels(config: BotsConfig, env: Env): Promise<CheckResult[]> {
  const results = Object.entries(config.agents).map(async ([id, agent]) => {
    const f = await checkModelEndpoint(id, agent, env, DOCTOR_DEFAULTS.timeoutMs);
    const name = `model (${id})`;
    return f.level === 'ok' ? ok(name, f.detail) : f.level === 'warn' ? warn(name, f.detail, f.fix) : fail(name, f.detail, f.fix ?? '');
  });
  return Promise.all(results);
}

const PLATFORM_CHECKS: Record<string, (bot: { name: string; index: number; config: Record<string, unknown> }) => Promise<CheckResult[]>> = {
  telegram: checkTelegram,
  discord: checkDiscord,
  slack: checkSlack,
  whatsapp: checkWhatsApp,
};

/** Each bot's credentials with one cheap call of its platform (platform-checks.ts); bots `bot start` would skip are ⚠ with the reason. */
export async function checkBots(loaded: LoadedConfig): Promise<CheckResult[]> {
  const perBot = await Promise.all(
    loaded.config.bots.map(async (entry, index): Promise<CheckResult[]> => {
      const name = `bot ${entry.id}`;
      const reason = await skipReason(loaded, index);
      if (reason) return [warn(name, `skipped: ${reason}`, entry.enabled ? 'set the missing value if this bot should run' : undefined)];
      let checked;
      try {
        checked = await checkBotEntry(loaded, index, entry);
      } catch (err) {
        return [fail(name, (err as Error).message, `fix bots[${index}] in ${loaded.file ?? 'bots.yaml'}`)];
      }
      const check = PLATFORM_CHECKS[entry.platform];
      if (!check) return [warn(name, `${entry.platform} credentials not checked`)];
      return check({ name, index, config: checked.config as unknown as Record<string, unknown> });
    }),
  );
  return perBot.flat();
}

/** A listener beyond loopback must authenticate (gateway) or be meant to be public (metrics). */
export function checkExposure(config: BotsConfig, env: Env): CheckResult[] {
  const results: CheckResult[] = [];
  const gw = config.gateway;
  if (gw.enabled || !isLoopbackListenAddress(gw.host)) {
    const hasAuth = gatewayAuthConfigured(gw, env);
    if (isLoopbackListenAddress(gw.host)) results.push(ok('gateway auth', `listens on ${gw.host} (loopback only)${hasAuth ? ', with auth' : ''}`));
    else if (hasAuth) results.push(ok('gateway auth', `listens on ${gw.host} with auth configured`));
    else results.push(fail('gateway auth', `listens on ${gw.host} with no auth: anyone who reaches it can chat as any session`, `set ${SECRET_ENV} (16+ random characters) or gateway.auth.tokens, or bind gateway.host to 127.0.0.1`));
  }
  if (config.admin.enabled) {
    const hasAuth = gatewayAuthConfigured(gw, env);
    if (config.admin.identities.length === 0) results.push(warn('admin pages', 'admin.enabled but admin.identities is empty: nobody can open /admin/', 'list the gateway identities allowed in under admin.identities'));
    else if (!hasAuth) results.push(warn('admin pages', 'admin.enabled but the gateway has no tokens: nobody can sign in to /admin/', `set gateway.auth.tokens for ${config.admin.identities.join(', ')}, or ${SECRET_ENV} and mint one with \`bot gateway token\``));
    else results.push(ok('admin pages', `/admin/ on the gateway's port, for ${config.admin.identities.join(', ')}`));
  }
  if (config.metrics.enabled && !isLoopbackListenAddress(config.metrics.host)) {
    results.push(warn('metrics', `/metrics is served on ${config.metrics.host} without auth`, 'keep it on a private network or firewall it to your Prometheus'));
  }
  return results;
}
