/**
 * Which configured values are secrets, for the process's SecretRedactor: collected once from the
 * loaded bots.yaml and the environment, so no log line or printed error shows them.
 *
 * A value is secret when
 * - its key is named like a credential (token, secret, signing_secret, app_token, password,
 *   api_key, private_key, …) anywhere in the configuration — every bots[] entry's keys, the
 *   agents' api keys, the gateway secret and its `auth.tokens` — or sits under such a key;
 * - it is the password of a URL (`redis://:pw@…`, `postgres://user:pw@…`) or a credential-named
 *   query parameter of one (`?key=`, `?token=`, `?api_key=`, …), wherever the URL appears;
 * - it is an environment variable named like a credential (OPENAI_API_KEY, TELEGRAM_BOT_TOKEN,
 *   BOTHOST_GATEWAY_SECRET, …), or the password/credential parameters of a URL in any variable
 *   (REDIS_URL, DATABASE_URL, OPENAI_BASE_URL).
 */
import { MIN_SECRET_LENGTH } from '../core/secret-redactor.js';

/** Key names (config keys or environment variable names) whose values are credentials. */
export const SECRET_NAME = /(token|secret|passw(or)?d|passphrase|api_?key|apikey|private_?key|access_?key|credential|auth_?key|signing|^key$|_key$)/i;

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;

/** The secret values in a parsed configuration (any shape) and an environment. */
export function collectSecrets(config: unknown, env: Record<string, string | undefined> = {}): string[] {
  const out = new Set<string>();
  walk(config, false, out, new Set());
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) continue;
    if (SECRET_NAME.test(name)) out.add(value);
    secretsInUrl(value, out);
  }
  return [...out];
}

function walk(value: unknown, secretContext: boolean, out: Set<string>, seen: Set<object>): void {
  if (typeof value === 'string') {
    if (secretContext) out.add(value);
    secretsInUrl(value, out);
    return;
  }
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const item of value) walk(item, secretContext, out, seen);
    return;
  }
  for (const [key, child] of Object.entries(value)) walk(child, secretContext || SECRET_NAME.test(key), out, seen);
}

/** The password and credential-named query parameters of `text` when it is a URL. */
function secretsInUrl(text: string, out: Set<string>): void {
  if (!URL_LIKE.test(text.trim())) return;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return;
  }
  if (url.password) {
    out.add(url.password);
    out.add(safeDecode(url.password));
  }
  for (const [name, value] of url.searchParams) if (SECRET_NAME.test(name) && value) out.add(value);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
