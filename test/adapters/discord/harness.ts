/**
 * Shared pieces of the Discord end-to-end tests: a fake Discord per test, a sandbox with a
 * bots.yaml whose discord entry points `api_root` at the fake, and `bot discord` processes.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { FAKE_DISCORD_TOKEN, startFakeDiscord, type BotMessage, type FakeDiscord } from '../../helpers/fake-discord-server.js';
import { assertBuilt, killAllCli, makeSandbox, startCli, type LiveCli, type Sandbox } from '../../helpers/run-cli.js';

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
export function useDiscord(): { readonly fake: FakeDiscord; readonly sb: Sandbox } {
  let fake: FakeDiscord | undefined;
  let sb: Sandbox | undefined;
  beforeAll(() => assertBuilt());
  beforeEach(async () => {
    fake = await startFakeDiscord();
    sb = await makeSandbox({ DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN });
  });
  afterEach(async () => {
    killAllCli();
    await fake?.close();
    await sb?.cleanup();
  });
  afterAll(() => killAllCli());
  return {
    get fake() {
      return fake!;
    },
    get sb() {
      return sb!;
    },
  };
}

export async function writeConfig(sb: Sandbox, yaml: string): Promise<string> {
  const file = path.join(sb.cwd, 'bots.yaml');
  await fsp.writeFile(file, yaml);
  return file;
}

/** Starts `bot discord` and waits for its ready line. */
export async function startDiscord(sb: Sandbox, args: string[] = [], env: Record<string, string> = {}): Promise<LiveCli> {
  const cli = startCli(sb, ['discord', ...args], { env, timeoutMs: 120_000 });
  await cli.waitForStderr(READY, { timeoutMs: 20_000 });
  return cli;
}

export { sleep, until } from '../../helpers/wait-for.js';

/** The bot's message in a channel whose content matches. */
export function replyMatching(fake: FakeDiscord, channelId: string, pattern: RegExp): BotMessage | undefined {
  return fake.messages(channelId).find((m) => pattern.test(m.content));
}

/** Stops a CLI with SIGTERM and expects a clean exit; returns stdout + stderr. */
export async function stopCli(cli: LiveCli): Promise<string> {
  cli.proc.kill('SIGTERM');
  const done = await cli.exited(20_000);
  if (done.code !== 0) throw new Error(`bot discord exited ${done.code}/${done.signal}\n${done.stderr}`);
  return done.all;
}
