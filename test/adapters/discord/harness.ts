/**
 * Shared pieces of the Discord end-to-end tests: a fake Discord per test, a sandbox with a
 * bots.yaml whose discord entry points `api_root` at the fake, and `bot discord` processes.
 */
import { FAKE_DISCORD_TOKEN, startFakeDiscord, type BotMessage, type FakeDiscord } from '../../helpers/fake-discord-server.js';
import { fakeServerAndSandboxPerTest, startCliUntilReady } from '../../helpers/platform-e2e.js';
import type { LiveCli, Sandbox } from '../../helpers/run-cli.js';

export const READY = /bothost: discord bot @bothost-test running/;
export const CONNECTED = /"msg":"discord gateway connected"/;

/** Fast typing for tests; edits stay at Discord's one per second per reply. */
export const FAST_DISCORD = Object.freeze({ typing_interval_ms: 300 });

export interface DiscordYaml {
  apiRoot: string;
  /** Extra keys of the discord entry (YAML flow values). */
  entry?: Record<string, unknown>;
  /** Extra top-level YAML (store, queue, agents…). */
  top?: string;
}

export function discordYaml(o: DiscordYaml): string {
  const entry = { ...FAST_DISCORD, ...o.entry };
  return [
    o.top ?? 'agents: { assistant: { model: echo } }',
    'bots:',
    '  - platform: discord',
    `    api_root: ${o.apiRoot}`,
    ...Object.entries(entry).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`),
    'log: { level: info }',
    '',
  ].join('\n');
}

/** Per-test fake Discord and sandbox (DISCORD_BOT_TOKEN set); every CLI killed afterwards. */
export const useDiscord = (): { readonly fake: FakeDiscord; readonly sb: Sandbox } => fakeServerAndSandboxPerTest(startFakeDiscord, { DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN });

/** Starts `bot discord [args]` and waits for its ready line. */
export const startDiscord = (sb: Sandbox, args: string[] = [], env: Record<string, string> = {}): Promise<LiveCli> => startCliUntilReady(sb, ['discord', ...args], READY, { env });

export { stopCli, writeConfig } from '../../helpers/platform-e2e.js';
export { sleep, until } from '../../helpers/wait-for.js';

/** The bot's message in a channel whose content matches. */
export function replyMatching(fake: FakeDiscord, channelId: string, pattern: RegExp): BotMessage | undefined {
  return fake.messages(channelId).find((m) => pattern.test(m.content));
}
