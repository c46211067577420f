/**
 * The application (slash) commands: `/ask question:<text>` for a turn, and the host's own
 * commands (`/new`, `/status`, `/help`) that the ingress chain answers like typed ones.
 * Registered globally with one bulk overwrite (`PUT /applications/:id/commands`), which is
 * idempotent, so every connection may do it.
 */

/** Host commands offered as slash commands (`/start` is Telegram's convention, not Discord's). */
export const HOST_SLASH_COMMANDS = Object.freeze(['new', 'status', 'help']);

const CHAT_INPUT = 1;
const STRING_OPTION = 3;
/** Usable in guild channels (0) and in DMs with the bot (1); installed to guilds (0). */
const EVERYWHERE = { contexts: [0, 1], integration_types: [0] } as const;

export interface ApplicationCommand {
  name: string;
  description: string;
  type: number;
  options?: Array<{ type: number; name: string; description: string; required: boolean }>;
  contexts: readonly number[];
  integration_types: readonly number[];
}

/** The command list for `PUT /applications/:id/commands`, from the host's command descriptions. */
export function applicationCommands(hostCommands: Readonly<Record<string, string>>): ApplicationCommand[] {
  const ask: ApplicationCommand = {
    name: 'ask',
    description: 'Ask the bot something',
    type: CHAT_INPUT,
    options: [{ type: STRING_OPTION, name: 'question', description: 'What you want to ask', required: true }],
    ...EVERYWHERE,
  };
  const own = HOST_SLASH_COMMANDS.filter((name) => hostCommands[name] !== undefined).map((name) => ({
    name,
    description: hostCommands[name]!.slice(0, 100),
    type: CHAT_INPUT,
    ...EVERYWHERE,
  }));
  return [ask, ...own];
}
