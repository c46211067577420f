/** Errors an adapter throws to tell the host what to do. */
import { BotHostError } from './errors.js';

/**
 * Thrown by `send`/`edit` when the platform refused the markup (Telegram "can't parse
 * entities", Slack `invalid_blocks`): the host sends the chunk's `plain` text instead.
 */
export class FormattingRejectedError extends Error {
  readonly code = 'FORMAT_REJECTED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FormattingRejectedError';
  }
}

/**
 * The platform refused the bot for good (bad token, missing intents, logged out): stop, do not
 * reconnect. `code` names the cause (`DISCORD_INTENTS_DISABLED`); the message says what to fix.
 */
export class AdapterFatalError extends BotHostError {
  readonly fatal = true;
}
