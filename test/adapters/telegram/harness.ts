/**
 * Shared pieces of the Telegram end-to-end tests: a fake Bot API per test, a sandbox with a
 * bots.yaml whose telegram entry points `api_root` at the fake, and `bot telegram` processes.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { FAKE_TOKEN, startFakeTelegram, type BotMessage, type FakeTelegram } from '../../helpers/fake-telegram-server.js';
import { assertBuilt, killAllCli, makeSandbox, startCli, type LiveCli, type Sandbox } from '../../helpers/run-cli.js';

export const READY = /telegram bot @test_bot running/;

/** Fast timings for tests: short long-polls, frequent edits and typing. */
export const FAST_TELEGRAM = Object.freeze({ poll_timeout_s: 1, stream_edit_interval_ms: 150, typing_interval_ms: 300 });

export interface TelegramYaml {
  apiRoot: string;
  /** Extra keys of the telegram entry (YAML flow values). */
  entry?: Record<string, string | number | boolean>;
  /** Extra top-level YAML (store, queue, agents…). */
  top?: string;
}

export function telegramYaml(o: TelegramYaml): string {
  const entry = { ...FAST_TELEGRAM, ...o.entry };
  return [
    o.top ?? 'agents: { assistant: { model: echo } }',
    'bots:',
    '  - platform: telegram',
    `    api_root: ${o.apiRoot}`,
    ...Object.entries(entry).map(([k, v]) => `    ${k}: ${typeof v === 'string' && !/^[\w./:-]+$/.test(v) ? JSON.stringify(v) : String(v)}`),
    'log: { level: info }',
    '',
  ].join('\n');
}

/** A fake Bot API per test; after each test every CLI is killed and the fake closed. */
export function fakeTelegramPerTest(): { readonly fake: FakeTelegram } {
  let fake: FakeTelegram | undefined;
  beforeEach(async () => {
    fake = await startFakeTelegram();
  });
  afterEach(async () => {
    killAllCli();
    await fake?.close();
  });
  return {
    get fake() {
      if (!fake) throw new Error('the fake Bot API starts in beforeEach');
      return fake;
    },
  };
}

/** Per-test fake server and sandbox; every CLI killed afterwards. */
export function useTelegram(): { readonly fake: FakeTelegram; readonly sb: Sandbox } {
  let fake: FakeTelegram | undefined;
  let sb: Sandbox | undefined;
  beforeAll(() => assertBuilt());
  beforeEach(async () => {
    fake = await startFakeTelegram();
    sb = await makeSandbox({ TELEGRAM_BOT_TOKEN: FAKE_TOKEN });
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

export async function startTelegram(sb: Sandbox, args: string[] = [], env: Record<string, string> = {}): Promise<LiveCli> {
  const cli = startCli(sb, ['telegram', ...args], { env, timeoutMs: 120_000 });
  await cli.waitForStderr(READY, { timeoutMs: 20_000 });
  return cli;
}

export { sleep, until } from '../../helpers/wait-for.js';

/** The bot's messages in a chat whose visible text matches. */
export function replyMatching(fake: FakeTelegram, chatId: number, pattern: RegExp): BotMessage | undefined {
  return fake.messages(chatId).find((m) => pattern.test(m.visible));
}

/** Stops a CLI with SIGTERM and expects a clean exit. */
export async function stopCli(cli: LiveCli): Promise<string> {
  cli.proc.kill('SIGTERM');
  const done = await cli.exited(20_000);
  if (done.code !== 0) throw new Error(`bot telegram exited ${done.code}/${done.signal}\n${done.stderr}`);
  return done.stderr;
}
