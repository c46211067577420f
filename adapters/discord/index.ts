/**
 * The Discord platform: discord.js 14 over the gateway (one connection per token, under the
 * bot's leadership lease when Redis is configured) and REST, against Discord or any server at
 * `api_root`. This module stays light; `create` loads discord.js.
 *
 * @example
 * bots:
 *   - platform: discord
 *     token: ${DISCORD_BOT_TOKEN}
 *     allowed_users: [alice, "123456789012345678"]
 */
import type { AdapterDefinition, PlatformAdapter, AdapterHost } from '../../src/core/adapter.js';
import { DISCORD_DEFAULTS, DiscordAdapterConfig } from './config.js';

export { DiscordAdapterConfig, DISCORD_DEFAULTS };

export const TOKEN_ENV = 'DISCORD_BOT_TOKEN';

/** Creates the adapter (loads discord.js). */
export async function createDiscordAdapter(config: DiscordAdapterConfig, host: AdapterHost): Promise<PlatformAdapter> {
  const { createDiscordAdapter: create } = await import('./adapter.js');
  return create(config, host);
}

const discord: AdapterDefinition<DiscordAdapterConfig> = {
  platform: 'discord',
  title: 'Discord',
  schema: DiscordAdapterConfig,
  env: { token: TOKEN_ENV },
  missing(entry, where) {
    if (typeof entry.token === 'string' && entry.token.trim() !== '') return null;
    return `${TOKEN_ENV} is not set and no token is configured: export ${TOKEN_ENV}=<token from the developer portal, your application → Bot> or add \`token: \${${TOKEN_ENV}}\` to ${where}`;
  },
  capabilities: (config) => ({
    edits: true,
    typing: true,
    threads: true,
    maxMessageLength: DISCORD_DEFAULTS.maxMessageLength,
    lengthUnit: 'utf16',
    singleConnection: true,
    markdown: 'discord',
    editIntervalMs: config.stream_edit_interval_ms,
    typingIntervalMs: config.typing_interval_ms,
    // Never sent again: a message the queue cannot take now is spooled by the host.
    redelivers: false,
  }),
  create: createDiscordAdapter,
};

export default discord;
