/**
 * Shared pieces of the Slack end-to-end tests: a fake Slack and a sandbox per test, a bots.yaml
 * whose slack entry points `api_url` at the fake (HTTP mode on a free port, or Socket Mode), and
 * `bot slack` processes.
 */
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { FAKE_SLACK, startFakeSlack, type FakeSlack, type SlackMessage } from '../../helpers/fake-slack-server.js';
import { assertBuilt, killAllCli, makeSandbox, startCli, type LiveCli, type Sandbox } from '../../helpers/run-cli.js';

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
export function useSlack(): { readonly fake: FakeSlack; readonly sb: Sandbox } {
  let fake: FakeSlack | undefined;
  let sb: Sandbox | undefined;
  beforeAll(() => assertBuilt());
  beforeEach(async () => {
    fake = await startFakeSlack();
    sb = await makeSandbox();
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

export async function writeConfig(sb: Sandbox, yaml: string, name = 'bots.yaml'): Promise<string> {
  const file = path.join(sb.cwd, name);
  await fsp.writeFile(file, yaml);
  return file;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts `bot [--config file] slack` and waits for its ready line. */
export async function startSlack(sb: Sandbox, args: string[] = [], env: Record<string, string> = {}): Promise<LiveCli> {
  const cli = startCli(sb, [...args, 'slack'], { env: { ...SLACK_ENV, ...env }, timeoutMs: 120_000 });
  await cli.waitForStderr(READY, { timeoutMs: 20_000 });
  return cli;
}

export { sleep, until } from '../../helpers/wait-for.js';

/** The bot's final (echo) replies in a channel, as shown now. */
export function echoReplies(fake: FakeSlack, channel: string): SlackMessage[] {
  return fake.botMessages(channel).filter((m) => /^\[echo\] turn \d+/.test(m.text));
}

/** Stops a CLI with SIGTERM and expects a clean exit; returns everything it printed. */
export async function stopCli(cli: LiveCli): Promise<string> {
  cli.proc.kill('SIGTERM');
  const done = await cli.exited(20_000);
  if (done.code !== 0) throw new Error(`bot slack exited ${done.code}/${done.signal}\n${done.stderr}`);
  return done.all;
}

/** No configured secret in any output line. */
export function assertNoSecrets(output: string): void {
  for (const secret of [FAKE_SLACK.botToken, FAKE_SLACK.appToken, FAKE_SLACK.signingSecret]) {
    if (output.includes(secret)) throw new Error(`a secret appeared in the output: ${secret.slice(0, 8)}…`);
  }
}
