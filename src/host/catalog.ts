/**
 * The platforms this build ships, one line each. Each definition is loaded only when a command
 * needs it, and a definition module imports its platform SDK only in `create`, so running one
 * platform never loads another's SDK.
 */
import type { AdapterDefinition } from '../core/adapter.js';
import { UnknownNameError } from '../core/errors.js';

type DefinitionModule = { default: AdapterDefinition<any> };

export interface CatalogEntry {
  title: string;
  /** `bot <platform> --help` text: examples and the platform's actions (static: nothing is loaded for help). */
  help: string;
  load: () => Promise<DefinitionModule>;
}

export const PLATFORMS: Readonly<Record<string, CatalogEntry>> = Object.freeze({
  telegram: {
    title: 'Telegram',
    help: 'Examples:\n  TELEGRAM_BOT_TOKEN=123456:ABC… npx bot telegram\n  npx bot telegram --bot support   # bots.yaml entry with id: support',
    load: () => import('../../adapters/telegram/index.js'),
  },
  whatsapp: {
    title: 'WhatsApp',
    help: 'Actions:\n  login [--pairing-code +4915112345678]   link this bot as a WhatsApp device (QR code, or a code typed on the phone)\n  logout                                  unlink the device and wipe its auth state\n  import-auth <dir>                       copy a baileys multi-file auth folder into the auth store\nExamples:\n  npx bot whatsapp login --bot support\n  npx bot whatsapp --bot support          # links first when not linked yet',
    load: () => import('../../adapters/whatsapp/index.js'),
  },
  slack: {
    title: 'Slack',
    help: 'Examples:\n  SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=… npx bot slack        # HTTP events on 127.0.0.1:3000/slack/events\n  SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… npx bot slack          # Socket Mode\n  npx bot slack --bot support   # bots.yaml entry with id: support\nApp manifest and keys: docs/slack.md',
    load: () => import('../../adapters/slack/index.js'),
  },
  discord: {
    title: 'Discord',
    help: 'Examples:\n  DISCORD_BOT_TOKEN=… npx bot discord\n  npx bot discord --bot support   # bots.yaml entry with id: support\nSwitch on "Message Content Intent" in the developer portal (Bot page) first; see docs/discord.md.',
    load: () => import('../../adapters/discord/index.js'),
  },
});

export function isPlatform(name: string): boolean {
  return Object.hasOwn(PLATFORMS, name);
}

export async function loadDefinition(platform: string): Promise<AdapterDefinition> {
  const entry = PLATFORMS[platform];
  if (!entry) throw new UnknownNameError('platform', platform, Object.keys(PLATFORMS));
  return (await entry.load()).default;
}
