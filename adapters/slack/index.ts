/**
 * The Slack platform: `bot slack` with a bot token and either a signing secret (HTTP events,
 * the default) or an app-level token (`mode: socket`, Socket Mode, no public URL).
 *
 * This module stays light (zod and src/core only): bolt is imported by `create`, so `bot start`
 * and `bot config check` never load it unless a Slack bot runs.
 */
import type { AdapterCapabilities, AdapterDefinition, AdapterHost, PlatformAdapter } from '../../src/core/adapter.js';
import { modeOf, SLACK_DEFAULTS, SlackAdapterConfig } from './config.js';

export { SlackAdapterConfig, SLACK_DEFAULTS, modeOf };

const present = (v: unknown) => typeof v === 'string' && v.trim() !== '';

/** Creates the adapter (loads bolt on first use). */
export async function createSlackAdapter(config: SlackAdapterConfig, host: AdapterHost): Promise<PlatformAdapter> {
  const { createSlackAdapter: create } = await import('./adapter.js');
  return create(config, host);
}

export function slackCapabilities(config: Pick<SlackAdapterConfig, 'stream_edit_interval_ms' | 'workspace_edit_interval_ms'>): AdapterCapabilities {
  return {
    edits: true,
    // The "typing" indicator is the status reaction on the user's message (Slack has no typing
    // call for bots outside the legacy RTM API).
    typing: true,
    threads: true,
    maxMessageLength: SLACK_DEFAULTS.maxMessageLength,
    lengthUnit: 'utf16',
    singleConnection: false,
    markdown: 'slack-mrkdwn',
    editIntervalMs: config.stream_edit_interval_ms,
    typingIntervalMs: SLACK_DEFAULTS.statusIntervalMs,
    scopeEditIntervalMs: config.workspace_edit_interval_ms,
  };
}

const definition: AdapterDefinition<SlackAdapterConfig> = {
  platform: 'slack',
  title: 'Slack',
  schema: SlackAdapterConfig,
  env: { token: 'SLACK_BOT_TOKEN', signing_secret: 'SLACK_SIGNING_SECRET', app_token: 'SLACK_APP_TOKEN' },
  missing(entry, where) {
    if (!present(entry.token)) return `the Slack bot token is not set: export SLACK_BOT_TOKEN=xoxb-… or add \`token: \${SLACK_BOT_TOKEN}\` to ${where}`;
    if (modeOf(entry) === 'socket') {
      if (!present(entry.app_token)) return `Socket Mode needs an app-level token: export SLACK_APP_TOKEN=xapp-… (Basic Information → App-Level Tokens, scope connections:write) or add \`app_token: \${SLACK_APP_TOKEN}\` to ${where}`;
      return null;
    }
    if (!present(entry.signing_secret)) {
      return `the Slack signing secret is not set: export SLACK_SIGNING_SECRET=… (Basic Information → Signing Secret) or add \`signing_secret: \${SLACK_SIGNING_SECRET}\` to ${where}; or use \`mode: socket\` with SLACK_APP_TOKEN`;
    }
    return null;
  },
  capabilities: slackCapabilities,
  create: createSlackAdapter,
};

export default definition;
