/**
 * Shared pieces of the Telegram end-to-end tests: a fake Bot API per test, a sandbox with a
 * bots.yaml whose telegram entry points `api_root` at the fake, and `bot telegram` processes.
 */
import { FAKE_TOKEN, startFakeTelegram, type BotMessage, type FakeTelegram } from '../../helpers/fake-telegram-server.js';
import { fakeServerAndSandboxPerTest, fakeServerPerTest, startCliUntilReady } from '../../helpers/platform-e2e.js';
import type { LiveCli, Sandbox } from '../../helpers/run-cli.js';

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
export const fakeTelegramPerTest = (): { readonly fake: FakeTelegram } => fakeServerPerTest(startFakeTelegram);

/** Per-test fake server and sandbox (TELEGRAM_BOT_TOKEN set); every CLI killed afterwards. */
export const useTelegram = (): { readonly fake: FakeTelegram; readonly sb: Sandbox } => fakeServerAndSandboxPerTest(startFakeTelegram, { TELEGRAM_BOT_TOKEN: FAKE_TOKEN });

/** Starts `bot telegram [args]` and waits for its ready line. */
export const startTelegram = (sb: Sandbox, args: string[] = [], env: Record<string, string> = {}): Promise<LiveCli> => startCliUntilReady(sb, ['telegram', ...args], READY, { env });

export { stopCli, writeConfig } from '../../helpers/platform-e2e.js';
export { sleep, until } from '../../helpers/wait-for.js';

/** The bot's messages in a chat whose visible text matches. */
export function replyMatching(fake: FakeTelegram, chatId: number, pattern: RegExp): BotMessage | undefined {
  return fake.messages(chatId).find((m) => pattern.test(m.visible));
}
