/**
 * `bot doctor`'s checks of what the host talks to: each agent's model endpoint (reachable, key
 * accepted, model listed by `GET <base>/models`), each bot's credentials where that is one cheap
 * call (Telegram `getMe`), and whether the gateway and metrics listeners are exposed without
 * protection. Secrets are used, never shown: every text from outside goes through redactSecrets.
 */
import type { LoadedConfig } from '../../config/load.js';
import type { BotsConfig } from '../../config/schema.js';
import { gatewayAuthConfigured, isLoopbackListenAddress, SECRET_ENV } from '../../gateway/auth.js';
import { checkBotEntry, skipReason } from '../../host/adapters.js';
import { checkModelEndpoint } from '../../models/endpoint-check.js';
import { fail, ok, redactSecrets, warn, type CheckResult } from '../../ops/doctor-report.js';
import { DOCTOR_DEFAULTS } from './infra-checks.js';

type Env = Record<string, string | undefined>;

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(DOCTOR_DEFAULTS.timeoutMs) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

const networkError = (err: unknown) => {
  const e = err as Error & { cause?: { code?: string } };
  return e.name === 'TimeoutError' ? `no answer within ${DOCTOR_DEFAULTS.timeoutMs} ms` : (e.cause?.code ?? e.message);
};

/** One check per agent with a real model (echo needs nothing): the same check roles run at start-up. */
export async function checkModels(config: BotsConfig, env: Env): Promise<CheckResult[]> {
  const results = Object.entries(config.agents).map(async ([id, agent]) => {
    const f = await checkModelEndpoint(id, agent, env, DOCTOR_DEFAULTS.timeoutMs);
    const name = `model (${id})`;
    return f.level === 'ok' ? ok(name, f.detail) : f.level === 'warn' ? warn(name, f.detail, f.fix) : fail(name, f.detail, f.fix ?? '');
  });
  return Promise.all(results);
}

/** Telegram's `getMe` with the bot's token; other platforms are not called. */
export async function checkBots(loaded: LoadedConfig): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [index, entry] of loaded.config.bots.entries()) {
    const name = `bot ${entry.id}`;
    const reason = await skipReason(loaded, index);
    if (reason) {
      results.push(warn(name, `skipped: ${reason}`, entry.enabled ? 'set the missing value if this bot should run' : undefined));
      continue;
    }
    let checked;
    try {
      checked = await checkBotEntry(loaded, index, entry);
    } catch (err) {
      results.push(fail(name, (err as Error).message, `fix bots[${index}] in ${loaded.file ?? 'bots.yaml'}`));
      continue;
    }
    if (entry.platform !== 'telegram') {
      results.push(warn(name, `${entry.platform} credentials not checked (no cheap call for them)`));
      continue;
    }
    const config = checked.config as { token?: string; api_root?: string };
    const token = config.token ?? '';
    const root = (config.api_root ?? 'https://api.telegram.org').replace(/\/+$/, '');
    try {
      const { status, body } = await getJson(`${root}/bot${token}/getMe`);
      const username = (body as { result?: { username?: string } })?.result?.username;
      if (status === 200 && username) results.push(ok(name, `Telegram accepts the token: @${username}`));
      else if (status === 401 || status === 404) {
        results.push(fail(name, `Telegram refused the token (${status})`, `get the token from @BotFather (/mybots → API Token) and set it in TELEGRAM_BOT_TOKEN or bots[${index}].token`));
      } else results.push(fail(name, `Telegram getMe answered ${status}`, `check bots[${index}].api_root (${new URL(root).origin})`));
    } catch (err) {
      results.push(fail(name, `cannot reach the Bot API at ${new URL(root).origin}: ${redactSecrets(networkError(err), [token])}`, 'check the network, or bots[].api_root for a self-hosted Bot API server'));
    }
  }
  return results;
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
  if (config.metrics.enabled && !isLoopbackListenAddress(config.metrics.host)) {
    results.push(warn('metrics', `/metrics is served on ${config.metrics.host} without auth`, 'keep it on a private network or firewall it to your Prometheus'));
  }
  return results;
}
