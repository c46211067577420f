/**
 * One cheap request to an agent's OpenAI-compatible endpoint — `GET <base>/models` with the key —
 * telling whether it is reachable, accepts the key and lists the model. `bot doctor` reports it;
 * every role that runs turns logs it once at start-up (a warning, never a refusal to start), so a
 * wrong key or URL shows up before the first user does. The echo model needs no check.
 */
import { MODEL_DEFAULTS, usesEcho, type AgentModelConfig } from './create-model.js';

export const ENDPOINT_CHECK_DEFAULTS = Object.freeze({ timeoutMs: 3_000 });

export interface EndpointFinding {
  /** `ok`: usable; `warn`: may work, unverified; `fail`: turns will fail. */
  level: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to change, for `warn` and `fail`. */
  fix?: string;
}

type Env = Record<string, string | undefined>;
const setting = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);

function redact(text: string, secret: string | undefined): string {
  return secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}

/** fetch's own "fetch failed" says nothing: the code (ECONNREFUSED …) or reason is in its cause. */
const networkError = (err: unknown, timeoutMs: number) => {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
};

/** Checks agent `id`'s model endpoint; `timeoutMs` bounds the one request. */
export async function checkModelEndpoint(id: string, agent: AgentModelConfig, env: Env, timeoutMs: number = ENDPOINT_CHECK_DEFAULTS.timeoutMs): Promise<EndpointFinding> {
  if (agent.model === MODEL_DEFAULTS.echoModel) return { level: 'ok', detail: 'the built-in offline echo model (no endpoint needed)' };
  const base = setting(agent.base_url) ?? setting(env.OPENAI_BASE_URL);
  const key = setting(agent.api_key) ?? setting(env.OPENAI_API_KEY);
  if (base === undefined && key === undefined) {
    return { level: 'warn', detail: `model "${agent.model}" has no endpoint or key, so the echo model answers instead`, fix: `set OPENAI_BASE_URL and/or OPENAI_API_KEY (or agents.${id}.base_url / api_key)` };
  }
  const root = (base ?? MODEL_DEFAULTS.baseURL).replace(/\/+$/, '');
  let status: number;
  let body: unknown;
  try {
    const res = await fetch(`${root}/models`, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    const text = await res.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  } catch (err) {
    return { level: 'fail', detail: `cannot reach ${root}: ${redact(networkError(err, timeoutMs), key)}`, fix: `start the model server or fix agents.${id}.base_url / OPENAI_BASE_URL` };
  }
  if (status === 401 || status === 403) {
    return { level: 'fail', detail: `${root} refused the API key (${status})`, fix: `set a valid key in OPENAI_API_KEY or agents.${id}.api_key` };
  }
  if (status === 404) {
    return { level: 'warn', detail: `${root} answers but has no /models list; the model name was not checked`, fix: `check that "${agent.model}" exists on that server` };
  }
  if (status !== 200) {
    return { level: 'fail', detail: `${root}/models answered ${status}`, fix: `check agents.${id}.base_url / OPENAI_BASE_URL (it should end in /v1 for most servers)` };
  }
  const ids = ((body as { data?: Array<{ id?: unknown }> })?.data ?? []).map((m) => String(m.id));
  return ids.includes(agent.model)
    ? { level: 'ok', detail: `${root} accepts the key and lists "${agent.model}"` }
    : { level: 'fail', detail: `${root} does not list model "${agent.model}"`, fix: `set agents.${id}.model (or BOT_MODEL) to one it lists${ids.length ? `, e.g. ${ids.slice(0, 5).join(', ')}` : ''}` };
}

/**
 * The start-up form: one line per agent whose endpoint will not work as configured (nothing for
 * echo agents, nothing when all is well). Requests run at once, each bounded by `timeoutMs`.
 */
export async function modelEndpointWarnings(agents: Readonly<Record<string, AgentModelConfig>>, env: Env, timeoutMs?: number): Promise<string[]> {
  const real = Object.entries(agents).filter(([, a]) => !usesEcho(a, env));
  const findings = await Promise.all(real.map(async ([id, a]) => [id, await checkModelEndpoint(id, a, env, timeoutMs)] as const));
  return findings.filter(([, f]) => f.level !== 'ok').map(([id, f]) => `agent ${id}: ${f.detail}${f.fix ? ` — ${f.fix}` : ''}`);
}
