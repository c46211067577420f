/**
 * T34 secret sweep: every role (`bot telegram` and `bot worker` in distributed mode, `bot start`,
 * `bot gateway`, `bot chat`) runs as a real process at LOG_LEVEL=debug, with distinctive secrets
 * configured, against fake servers that echo each request (its URL — the Bot API token is in the
 * path — and its headers — the model key is in Authorization) back into their errors. No output
 * line of any process may contain a secret, as written or URL-encoded; and the redactor must have
 * had work to do (`[redacted]` printed), so the test cannot pass by printing nothing. This is also
 * T30's check on logs.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, freePort, openRedis, uniqueNames } from '../helpers/distributed-harness.js';
import { ECHO_REQUEST as ECHO_OPENAI, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai-server.js';
import { ECHO_REQUEST as ECHO_TELEGRAM, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram-server.js';
import { runCli, startCli, useSandbox, type LiveCli } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';
import { TestClient } from '../gateway/ws-client.js';

const SECRETS = {
  telegramToken: '918273:Sweep-TG_token-a1b2c3d4e5',
  modelKey: 'sk-sweep-model-key-f6g7h8',
  gatewaySecret: 'gw-sweep-secret-0123456789abcdef',
  aliceToken: 'alice-sweep-token-i9j0k1',
  redisPassword: 'redis-sweep-pw-l2m3n4',
};
const box = useSandbox();
let tg: FakeTelegram;
let model: FakeOpenAI;
const outputs: Array<{ role: string; text: string }> = [];

beforeAll(async () => {
  tg = await startFakeTelegram({ token: SECRETS.telegramToken });
  model = await startFakeOpenAI();
});
afterAll(async () => {
  await tg.close();
  await model.close();
});

const USER = { id: 4242, username: 'sweeper' };
const env = { LOG_LEVEL: 'debug', TELEGRAM_BOT_TOKEN: SECRETS.telegramToken, OPENAI_API_KEY: SECRETS.modelKey, BOTHOST_GATEWAY_SECRET: SECRETS.gatewaySecret };

/** The model fails `times` requests with the request (Authorization header included) in its error. */
const modelEchoes = (times: number) => model.failNext(500, times, { error: { message: `upstream failed for ${ECHO_OPENAI}`, type: 'server_error', code: null } });
/** The Bot API fails `method` with its URL (the token) and headers in the description. */
const telegramEchoes = (method: string, times: number, code = 500) => tg.failNext(method, { error_code: code, description: `upstream failed for ${ECHO_TELEGRAM}` }, times);

async function config(lines: string[]): Promise<string> {
  const file = path.join(box.sb.cwd, `bots-${outputs.length}.yaml`);
  await fsp.writeFile(file, [`agents: { assistant: { model: fake-model, base_url: "${model.url}", api_key: "\${OPENAI_API_KEY}" } }`, ...lines, ''].join('\n'));
  return file;
}

const telegramEntry = () => ['bots:', '  - platform: telegram', `    api_root: ${tg.url}`, '    token: ${TELEGRAM_BOT_TOKEN}', '    poll_timeout_s: 1'];
const gatewayEntry = (port: number) => ['gateway:', '  enabled: true', `  port: ${port}`, '  allow_loopback_without_auth: false', `  auth: { secret: "\${BOTHOST_GATEWAY_SECRET}", tokens: { alice: ${SECRETS.aliceToken} } }`];

async function stop(role: string, cli: LiveCli): Promise<void> {
  cli.proc.kill('SIGTERM');
  const done = await cli.exited(20_000);
  outputs.push({ role, text: done.all });
}

/** Waits for the bot's answer: the reply, or the polite failure when the model kept failing. */
async function telegramMessageAnswered(text: string, cli: LiveCli): Promise<void> {
  const before = tg.messages(USER.id).length;
  tg.userSays({ chat: { id: USER.id, type: 'private' }, from: USER, text });
  await waitFor(`an answer to "${text}"`, () => tg.messages(USER.id).length > before, { timeoutMs: 30_000, explain: () => cli.stderr().slice(-3000) });
}

async function gatewayMessageAnswered(port: number, text: string): Promise<void> {
  const c = await TestClient.open(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(SECRETS.aliceToken)}`);
  await c.join({ session_id: 'sweep' });
  c.send({ type: 'message', content: text, id: `id-${outputs.length}` });
  await c.next((f) => f.type === 'response' || (f.type === 'error' && f.code === 'turn_failed'), { timeoutMs: 30_000 });
  c.ws.terminate();
}

describe('T34 secret sweep: no configured secret in any output of any role', () => {
  it('bot telegram + bot worker (distributed, password in the Redis URL): failed sends and model errors are redacted', async () => {
    const { prefix, queueName } = uniqueNames('sweep');
    const redisUrl = `redis://:${SECRETS.redisPassword}@127.0.0.1:6379`;
    const file = await config([
      `store: { backend: redis, url: "${redisUrl}", prefix: "${prefix}" }`,
      `queue: { backend: bullmq, name: "${queueName}", concurrency: 2 }`,
      ...telegramEntry(),
    ]);
    const redis = await openRedis();
    try {
      const worker = startCli(box.sb, ['--config', file, 'worker'], { env, timeoutMs: 90_000 });
      await worker.waitForStderr(/worker/i, { timeoutMs: 20_000 });
      telegramEchoes('getMe', 1);
      const ingress = startCli(box.sb, ['--config', file, 'telegram'], { env, timeoutMs: 90_000 });
      await ingress.waitForStderr(/running/, { timeoutMs: 20_000 });
      modelEchoes(2);
      telegramEchoes('sendMessage', 2);
      await telegramMessageAnswered('distributed sweep', ingress);
      await stop('bot telegram (bullmq)', ingress);
      await stop('bot worker', worker);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await deleteKeysWithPrefix(redis, `bull:${queueName}`);
      redis.disconnect();
    }
  });

  it('bot start (telegram + gateway, embedded) and bot gateway', async () => {
    const port = await freePort();
    const file = await config([...telegramEntry(), ...gatewayEntry(port)]);
    telegramEchoes('getMe', 1);
    const start = startCli(box.sb, ['--config', file, 'start'], { env, timeoutMs: 90_000 });
    await start.waitForStderr(/web chat at http/, { timeoutMs: 20_000 });
    modelEchoes(2);
    telegramEchoes('sendMessage', 2);
    await telegramMessageAnswered('start sweep', start);
    modelEchoes(5);
    await gatewayMessageAnswered(port, 'gateway sweep in bot start');
    await stop('bot start', start);

    const gwPort = await freePort();
    const gwFile = await config(gatewayEntry(gwPort));
    const gateway = startCli(box.sb, ['--config', gwFile, 'gateway', '--port', String(gwPort)], { env, timeoutMs: 90_000 });
    await gateway.waitForStderr(/web chat at http/, { timeoutMs: 20_000 });
    modelEchoes(5);
    await gatewayMessageAnswered(gwPort, 'gateway sweep');
    const refused = await TestClient.open(`ws://127.0.0.1:${gwPort}/ws?token=${SECRETS.aliceToken}x`).catch((e: Error) => e);
    expect(String(refused)).toMatch(/401/);
    await stop('bot gateway', gateway);
  });

  it('bot chat, and a fatal start-up error printed by the CLI', async () => {
    const file = await config([]);
    modelEchoes(10);
    const chat = await runCli(box.sb, ['--config', file, 'chat', '--session', 'sweep', '--message', 'hello'], { env, timeoutMs: 60_000 });
    outputs.push({ role: 'bot chat', text: chat.all });

    const tgFile = await config(telegramEntry());
    telegramEchoes('getMe', 1, 401);
    const fatal = await runCli(box.sb, ['--config', tgFile, 'telegram'], { env, timeoutMs: 30_000 });
    expect(fatal.code).toBe(1);
    outputs.push({ role: 'bot telegram (fatal)', text: fatal.all });
  });

  it('no output of any role contains a secret, and redaction happened', () => {
    expect(outputs.map((o) => o.role)).toEqual(['bot telegram (bullmq)', 'bot worker', 'bot start', 'bot gateway', 'bot chat', 'bot telegram (fatal)']);
    const leaks: string[] = [];
    for (const { role, text } of outputs) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        for (const form of new Set([secret, encodeURIComponent(secret)])) {
          const at = text.indexOf(form);
          if (at >= 0) leaks.push(`${role} printed ${name}: …${text.slice(Math.max(0, at - 120), at + form.length + 20)}…`);
        }
      }
    }
    expect(leaks).toEqual([]);
    // The echoes did reach the output (redacted): the sweep looked at real error lines.
    const redactedIn = outputs.filter((o) => o.text.includes('[redacted]')).map((o) => o.role);
    expect(redactedIn).toEqual(expect.arrayContaining(['bot telegram (bullmq)', 'bot worker', 'bot chat', 'bot telegram (fatal)']));
  });
});
