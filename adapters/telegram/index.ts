/**
 * The Telegram platform: grammY against the Bot API (or any server at `api_root`), long polling
 * (one poller per token, under the bot's leadership lease when Redis is configured) or a webhook.
 * This module stays light; `create` loads grammY.
 *
 * @example
 * bots:
 *   - platform: telegram
 *     token: ${TELEGRAM_BOT_TOKEN}
 */
import type { AdapterDefinition } from '../../src/core/adapter.js';
import { TELEGRAM_DEFAULTS, TelegramAdapterConfig } from './config.js';

export { TelegramAdapterConfig, TELEGRAM_DEFAULTS };

export const TOKEN_ENV = 'TELEGRAM_BOT_TOKEN';

const telegram: AdapterDefinition<TelegramAdapterConfig> = {
  platform: 'telegram',
  title: 'Telegram',
  schema: TelegramAdapterConfig,
  env: { token: TOKEN_ENV },
  missing(entry, where) {
    if (typeof entry.token === 'string' && entry.token.trim() !== '') return null;
    return `${TOKEN_ENV} is not set and no token is configured: export ${TOKEN_ENV}=<token from @BotFather> or add \`token: \${${TOKEN_ENV}}\` to ${where}`;
  },
  capabilities: (config) => ({
    edits: true,
    typing: true,
    threads: true,
    maxMessageLength: TELEGRAM_DEFAULTS.maxMessageLength,
    lengthUnit: 'utf16',
    singleConnection: config.mode === 'polling',
    markdown: config.parse_mode === 'html' ? 'telegram-html' : 'plain',
    editIntervalMs: config.stream_edit_interval_ms,
    typingIntervalMs: config.typing_interval_ms,
  }),
  async create(config, host) {
    const { createTelegramAdapter } = await import('./adapter.js');
    return createTelegramAdapter(config, host);
  },
};

export default telegram;
