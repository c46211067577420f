/**
 * `bot doctor`'s one cheap call per platform bot, with the API base the adapter itself uses (so
 * a proxy, GovCloud or the tests' fakes are checked the same way) and plain `fetch` — no platform
 * SDK is loaded. Every text from outside goes through redactSecrets.
 *
 *   telegram   getMe (the token), getWebhookInfo (a webhook registered vs the configured mode)
 *   discord    GET /users/@me (the token), GET /applications/@me (the Message Content intent)
 *   slack      auth.test (the token), its `x-oauth-scopes` header against the scopes replies need
 *   whatsapp   whether a device is linked (creds.json of the file auth store has `me`)
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fail, ok, redactSecrets, warn, type CheckResult } from '../../ops/doctor-report.js';
import { DOCTOR_DEFAULTS } from './infra-checks.js';

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(DOCTOR_DEFAULTS.timeoutMs) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, headers: res.headers };
}

export const networkError = (err: unknown) => {
  const e = err as Error & { cause?: { code?: string } };
  return e.name === 'TimeoutError' ? `no answer within ${DOCTOR_DEFAULTS.timeoutMs} ms` : (e.cause?.code ?? e.message);
};

const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
};

interface BotRef {
  /** `bot <id>`. */
  name: string;
  index: number;
  config: Record<string, unknown>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export async function checkTelegram({ name, index, config }: BotRef): Promise<CheckResult[]> {
  const token = str(config.token);
  const root = str(config.api_root || 'https://api.telegram.org').replace(/\/+$/, '');
  try {
    const me = await call(`${root}/bot${token}/getMe`);
    const username = (me.body as { result?: { username?: string } })?.result?.username;
    if (me.status === 401 || me.status === 404) {
      return [fail(name, `Telegram refused the token (${me.status})`, `get the token from @BotFather (/mybots → API Token) and set it in TELEGRAM_BOT_TOKEN or bots[${index}].token`)];
    }
    if (me.status !== 200 || !username) return [fail(name, `Telegram getMe answered ${me.status}`, `check bots[${index}].api_root (${originOf(root)})`)];
    const results = [ok(name, `Telegram accepts the token: @${username}`)];
    const info = await call(`${root}/bot${token}/getWebhookInfo`);
    const url = (info.body as { result?: { url?: string } })?.result?.url ?? '';
    const mode = str(config.mode) || 'polling';
    const wanted = str((config.webhook as { url?: string } | undefined)?.url);
    if (info.status !== 200) results.push(warn(`${name} webhook`, `getWebhookInfo answered ${info.status}; the webhook was not checked`));
    else if (mode === 'polling' && url) {
      results.push(warn(`${name} webhook`, `a webhook is registered (${originOf(url)}) but the bot polls: polling deletes it at start, so the other receiver stops getting updates`, `remove the other deployment's webhook, or set bots[${index}].mode: webhook`));
    } else if (mode === 'webhook' && !url) results.push(ok(`${name} webhook`, 'no webhook registered yet; the bot registers it at start'));
    else if (mode === 'webhook' && wanted && url !== wanted) {
      results.push(warn(`${name} webhook`, `the registered webhook (${originOf(url)}) is not bots[${index}].webhook.url (${originOf(wanted)}); the bot re-registers its own at start`, 'make sure only one deployment runs this bot'));
    } else results.push(ok(`${name} webhook`, mode === 'webhook' ? 'the registered webhook is this bot\'s' : 'no webhook registered (the bot polls)'));
    return results;
  } catch (err) {
    return [fail(name, `cannot reach the Bot API at ${originOf(root)}: ${redactSecrets(networkError(err), [token])}`, 'check the network, or bots[].api_root for a self-hosted Bot API server')];
  }
}

/** Application flags that allow message content: GATEWAY_MESSAGE_CONTENT and its "limited" variant (unverified bots). */
const MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19);

export async function checkDiscord({ name, index, config }: BotRef): Promise<CheckResult[]> {
  const token = str(config.token);
  const root = `${str(config.api_root || 'https://discord.com/api').replace(/\/+$/, '')}/v10`;
  const headers = { authorization: `Bot ${token}` };
  try {
    const me = await call(`${root}/users/@me`, { headers });
    if (me.status === 401) return [fail(name, 'Discord refused the token (401)', `copy the token from the Developer Portal (Bot → Reset Token) into DISCORD_BOT_TOKEN or bots[${index}].token`)];
    const user = me.body as { username?: string; bot?: boolean } | undefined;
    if (me.status !== 200 || !user?.username) return [fail(name, `Discord GET /users/@me answered ${me.status}`, `check bots[${index}].api_root (${originOf(root)})`)];
    const results = [ok(name, `Discord accepts the token: ${user.username}`)];
    const app = await call(`${root}/applications/@me`, { headers });
    const flags = (app.body as { flags?: unknown } | undefined)?.flags;
    const hint = 'Developer Portal → Bot → Privileged Gateway Intents → MESSAGE CONTENT INTENT';
    if (app.status === 200 && typeof flags === 'number') {
      results.push(
        (flags & MESSAGE_CONTENT_FLAGS) !== 0
          ? ok(`${name} intents`, 'the Message Content intent is on')
          : fail(`${name} intents`, 'the Message Content intent is off: Discord would close the connection (4014) and the bot could not read messages', `switch it on: ${hint}`),
      );
    } else results.push(warn(`${name} intents`, `the Message Content intent could not be read (GET /applications/@me answered ${app.status})`, `make sure it is on: ${hint}`));
    return results;
  } catch (err) {
    return [fail(name, `cannot reach Discord at ${originOf(root)}: ${redactSecrets(networkError(err), [token])}`, `check the network, or bots[${index}].api_root`)];
  }
}

/** What replies, threads and the status reaction need (docs/slack.md lists why). */
export const SLACK_SCOPES = ['chat:write', 'app_mentions:read', 'reactions:write', 'im:history', 'channels:history', 'groups:history', 'mpim:history', 'commands'];

export async function checkSlack({ name, index, config }: BotRef): Promise<CheckResult[]> {
  const token = str(config.token);
  const base = str(config.api_url || 'https://slack.com/api/');
  const url = `${base.endsWith('/') ? base : `${base}/`}auth.test`;
  try {
    const res = await call(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' } });
    const body = res.body as { ok?: boolean; error?: string; user?: string; team?: string } | undefined;
    if (res.status !== 200 || !body) return [fail(name, `Slack auth.test answered ${res.status}`, `check bots[${index}].api_url (${originOf(url)})`)];
    if (!body.ok) {
      return [fail(name, `Slack refused the token (${redactSecrets(String(body.error ?? 'not ok'), [token])})`, `copy the Bot User OAuth Token (xoxb-…, OAuth & Permissions) into SLACK_BOT_TOKEN or bots[${index}].token`)];
    }
    const results = [ok(name, `Slack accepts the token: ${body.user ?? 'the bot'} in ${body.team ?? 'its workspace'}`)];
    const header = res.headers.get('x-oauth-scopes');
    if (header === null) results.push(warn(`${name} scopes`, 'Slack did not say which scopes the token has (no x-oauth-scopes header)', `check OAuth & Permissions → Bot Token Scopes: ${SLACK_SCOPES.join(', ')}`));
    else {
      const granted = new Set(header.split(',').map((s) => s.trim()).filter(Boolean));
      const missing = SLACK_SCOPES.filter((s) => !granted.has(s));
      results.push(
        missing.length === 0
          ? ok(`${name} scopes`, 'the token has every scope the bot uses')
          : warn(`${name} scopes`, `the token lacks ${missing.join(', ')}`, 'add them under OAuth & Permissions → Bot Token Scopes (or from the manifest in docs/slack.md) and reinstall the app'),
      );
    }
    return results;
  } catch (err) {
    return [fail(name, `cannot reach Slack at ${originOf(url)}: ${redactSecrets(networkError(err), [token])}`, `check the network, or bots[${index}].api_url`)];
  }
}

export async function checkWhatsApp({ name, index, config }: BotRef): Promise<CheckResult[]> {
  if (config.auth_store === 'store') {
    return [warn(name, 'the linked device is kept in the session store; doctor does not read it', '`npx bot whatsapp login` says whether it is linked')];
  }
  const file = path.join(str(config.auth_dir), 'creds.json');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [fail(name, `not linked: no ${file}`, `link a phone with \`npx bot whatsapp login${index > 0 ? ` --bot ${str(config.id)}` : ''}\``)];
    return [fail(name, `cannot read ${file} (${code ?? (err as Error).message})`, 'check the permissions of bots[].auth_dir')];
  }
  let me: string | undefined;
  try {
    me = (JSON.parse(text) as { me?: { id?: string } }).me?.id;
  } catch {
    return [fail(name, `${file} is not valid JSON`, 'restore it from a backup, or log out and link again (`npx bot whatsapp logout`, then `login`)')];
  }
  if (!me) return [fail(name, `not linked: ${file} has no account (a login that did not finish)`, 'run `npx bot whatsapp login` and scan the QR code')];
  // The account's phone number is personal data: only say that one is linked, with its last digits.
  const digits = me.split(/[:@]/)[0] ?? '';
  return [ok(name, `linked (account …${digits.slice(-4)})`)];
}
