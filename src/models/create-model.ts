/**
 * Picks the model for an agent from bots.yaml and the environment. With nothing configured the
 * offline echo model answers, and the caller prints `notice` once at start-up (docs/architecture.md, "The model").
 */
import type { ChatModel } from '../core/model.js';
import { createEchoModel } from './echo-model.js';
import { createOpenAICompatibleModel } from './openai-compatible-model.js';

export const MODEL_DEFAULTS = Object.freeze({
  baseURL: 'https://api.openai.com/v1',
  /** The model name that selects the offline echo model. */
  echoModel: 'echo',
} as const);

export const ECHO_FALLBACK_NOTICE =
  'no model endpoint configured (set OPENAI_BASE_URL and/or OPENAI_API_KEY, and BOT_MODEL): using the offline echo model';

/** The fields of a bots.yaml agent that choose its model. */
export interface AgentModelConfig {
  model: string;
  base_url?: string;
  api_key?: string;
  temperature?: number;
  max_output_tokens?: number;
  /** False for servers that cannot stream; default true. */
  stream?: boolean;
}

export interface ModelChoice {
  model: ChatModel;
  /** Set when the choice is not what the operator asked for; say it once at start-up. */
  notice?: string;
}

/** True when the agent runs the built-in echo model (explicitly or for lack of an endpoint). */
export function usesEcho(agent: AgentModelConfig, env: Record<string, string | undefined>): boolean {
  if (agent.model === MODEL_DEFAULTS.echoModel) return true;
  return setting(agent.base_url) === undefined && setting(env.OPENAI_BASE_URL) === undefined && setting(agent.api_key) === undefined && setting(env.OPENAI_API_KEY) === undefined;
}

/**
 * Rules: model `echo` → echo. Otherwise base URL = agent `base_url` ?? `OPENAI_BASE_URL` ??
 * OpenAI, key = agent `api_key` ?? `OPENAI_API_KEY`. No base URL configured anywhere and no key
 * → echo plus a notice. A configured base URL without a key is fine (Ollama needs none).
 * Empty strings count as unset: `.env` files often carry `OPENAI_API_KEY=`.
 *
 * @example
 * const { model, notice } = createModel({ model: 'llama3.2' }, { OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' });
 */
export function createModel(agent: AgentModelConfig, env: Record<string, string | undefined>): ModelChoice {
  if (agent.model === MODEL_DEFAULTS.echoModel) return { model: createEchoModel() };
  const configuredBaseURL = setting(agent.base_url) ?? setting(env.OPENAI_BASE_URL);
  const apiKey = setting(agent.api_key) ?? setting(env.OPENAI_API_KEY);
  if (configuredBaseURL === undefined && apiKey === undefined) {
    return { model: createEchoModel(), notice: ECHO_FALLBACK_NOTICE };
  }
  return {
    model: createOpenAICompatibleModel({
      baseURL: configuredBaseURL ?? MODEL_DEFAULTS.baseURL,
      model: agent.model,
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(agent.temperature !== undefined ? { temperature: agent.temperature } : {}),
      ...(agent.max_output_tokens !== undefined ? { maxOutputTokens: agent.max_output_tokens } : {}),
      ...(agent.stream === false ? { stream: false } : {}),
    }),
  };
}

function setting(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
