/**
 * Shared pieces of the Slack end-to-end tests: a fake Slack and a sandbox per test, a bots.yaml
 * whose slack entry points `api_url` at the fake (HTTP mode on a free port, or Socket Mode), and
 * `bot slack` processes.
 */
import { FAKE_SLACK, startFakeSlack, type FakeSlack, type SlackMessage } from '../../helpers/fake-slack-server.js';
import { fakeServerAndSandboxPerTest, startCliUntilReady } from '../../helpers/platform-e2e.js';
import type { LiveCli, Sandbox } from '../../helpers/run-cli.js';

export const READY = /slack bot @testbot running/;

/** The environment a `bot slack` process gets (tokens as an operator would export them). */
export const SLACK_ENV = Object.freeze({ SLACK_BOT_TOKEN: FAKE_SLACK.botToken, SLACK_SIGNING_SECRET: FAKE_SLACK.signingSecret, SLACK_APP_TOKEN: FAKE_SLACK.appToken });

export interface SlackYaml {
  apiUrl: string;
  mode: 'http' | 'socket';
  /** HTTP mode: the port to listen on. */
  port?: number;
  /** Extra keys of the slack entry (YAML flow values). */
  entry?: Record<string, string | number | boolean>;
  /** Extra top-level YAML (store, queue, agents…). */
  top?: string;
}

export function slackEntry(o: SlackYaml): string[] {
  return [
    '  - platform: slack',
    '    id: slack',
    `    api_url: ${o.apiUrl}`,
    `    mode: ${o.mode}`,
    ...(o.mode === 'http' ? [`    http: { host: 127.0.0.1, port: ${o.port ?? 0} }`] : []),
    '    stream_edit_interval_ms: 150',
    '    workspace_edit_interval_ms: 150',
    ...Object.entries(o.entry ?? {}).map(([k, v]) => `    ${k}: ${typeof v === 'string' && !/^[\w./:-]+$/.test(v) ? JSON.stringify(v) : String(v)}`),
  ];
}

export function slackYaml(o: SlackYaml): string {
  return [o.top ?? 'agents: { assistant: { model: echo } }', 'bots:', ...slackEntry(o), 'log: { level: info }', ''].join('\n');
}

/** Per-test fake Slack and sandbox; every CLI killed afterwards. */
export const useSlack = (): { readonly fake: FakeSlack; readonly sb: Sandbox } => fakeServerAndSandboxPerTest(startFakeSlack);

/** Starts `bot [args] slack` (args such as `--config file`) and waits for its ready line. */
export const startSlack = (sb: Sandbox, args: string[] = [], env: Record<string, string> = {}): Promise<LiveCli> => startCliUntilReady(sb, [...args, 'slack'], READY, { env: { ...SLACK_ENV, ...env } });

export { stopCli, writeConfig } from '../../helpers/platform-e2e.js';
export { freePort } from '../../helpers/redis-fixtures.js';
export { sleep, until } from '../../helpers/wait-for.js';

/** The bot's final (echo) replies in a channel, as shown now. */
export function echoReplies(fake: FakeSlack, channel: string): SlackMessage[] {
  return fake.botMessages(channel).filter((m) => /^\[echo\] turn \d+/.test(m.text));
}

/** No configured secret in any output line. */
export function assertNoSecrets(output: string): void {
  for (const secret of [FAKE_SLACK.botToken, FAKE_SLACK.appToken, FAKE_SLACK.signingSecret]) {
    if (output.includes(secret)) throw new Error(`a secret appeared in the output: ${secret.slice(0, 8)}…`);
  }
}
