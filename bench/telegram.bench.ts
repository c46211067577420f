/**
 * Telegram figures (issue 4), all through the real `bot telegram` process (grammY inside) against
 * the fake Bot API on 127.0.0.1:
 * - updates/s from the fake server through to final replies, echo model, embedded mode (inline
 *   queue, file store) and BullMQ mode (Redis store, one `bot worker` process);
 * - webhook ack latency p50/p99 while every turn's model call takes 30 s (target p99 < 100 ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FAKE_TOKEN, postJson, startFakeTelegram, type FakeTelegram } from '../test/helpers/fake-telegram-server.js';
import { startFakeOpenAI } from '../test/helpers/fake-openai-server.js';
import { freePort, type Proc } from './tools/cli-procs.js';
import { ECHO_AGENT, echoThroughput, withBotProcess, withBullMQConfig, type PlatformCommand } from './tools/platform-runs.js';
import { percentile, type Report } from './tools/report.js';

/** `bot telegram` with the fake's token. */
const TELEGRAM: PlatformCommand = { command: 'telegram', env: { TELEGRAM_BOT_TOKEN: FAKE_TOKEN } };
const USERS = 200;
const PER_USER = 10;
const SECRET = 'bench-secret-0123456789';

function telegramEntry(apiRoot: string, extra: string[] = []): string {
  return ['bots:', '  - platform: telegram', `    api_root: ${apiRoot}`, '    poll_timeout_s: 5', ...extra].join('\n');
}

/** USERS × PER_USER messages pushed at once; resolves with updates/s until every final reply is shown. */
function throughput(fake: FakeTelegram, proc: Proc): Promise<number> {
  const send = (u: number, text: string) => {
    const chat = 100_000 + u;
    fake.userSays({ chat: { id: chat, type: 'private' }, from: { id: chat }, text });
    return chat;
  };
  return echoThroughput(proc, USERS, PER_USER, send, (chat) => fake.messages(chat).map((m) => m.visible));
}

async function embedded(report: Report, dir: string): Promise<void> {
  const fake = await startFakeTelegram();
  await withBotProcess(dir, TELEGRAM, [ECHO_AGENT, telegramEntry(fake.url)], async (proc) => {
    const rate = await throughput(fake, proc);
    report.add({ name: `telegram updates/s → replies, echo model, embedded (file store), ${USERS} users × ${PER_USER}`, value: rate, unit: 'updates/s', extra: { apiCalls: fake.calls.length } });
  }, { closeAfter: [fake] });
}

async function bullmq(report: Report, dir: string): Promise<void> {
  await withBullMQConfig('bench-tg', async (queueYaml) => {
    const fake = await startFakeTelegram();
    await withBotProcess(dir, TELEGRAM, [ECHO_AGENT, ...queueYaml, telegramEntry(fake.url, ['    leader: none'])], async (proc) => {
      const rate = await throughput(fake, proc);
      report.add({ name: `telegram updates/s → replies, echo model, BullMQ (Redis store, 1 worker), ${USERS} users × ${PER_USER}`, value: rate, unit: 'updates/s' });
    }, { worker: true, closeAfter: [fake] });
  });
}

async function webhookAck(report: Report, dir: string): Promise<void> {
  const fake = await startFakeTelegram();
  const model = await startFakeOpenAI({ responder: () => ({ text: 'slow', delayMs: 30_000 }) });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const yaml = ['agents: { assistant: { model: slow-model } }', telegramEntry(fake.url, ['    mode: webhook', `    webhook: { url: "${url}", secret: ${SECRET}, port: ${port} }`])];
  const measure = async () => {
    const n = 300;
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      const update = { update_id: 10_000 + i, message: { message_id: i + 1, date: 0, chat: { id: 50_000 + (i % 50), type: 'private' }, from: { id: 50_000 + (i % 50), is_bot: false, first_name: 'B' }, text: `slow question ${i}` } };
      const t = performance.now();
      const status = await postJson(url, update, { 'X-Telegram-Bot-Api-Secret-Token': SECRET });
      latencies.push(performance.now() - t);
      if (status !== 200) throw new Error(`bench: webhook answered ${status}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const modelCalls = model.requests.length;
    const p99 = percentile(latencies, 99);
    report.add({ name: 'telegram webhook ack p50 while the model takes 30 s', value: percentile(latencies, 50), unit: 'ms' });
    report.add({ name: `telegram webhook ack p99 while the model takes 30 s (${n} updates, ${modelCalls} model calls in flight)`, value: p99, unit: 'ms', target: '< 100 ms', pass: p99 < 100 });
  };
  // The turns would take 30 s each to finish: this bench does not wait for them (SIGKILL).
  await withBotProcess(dir, TELEGRAM, yaml, measure, { env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'fake' }, stopSignal: 'SIGKILL', closeAfter: [fake, model] });
}

export async function benchTelegram(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-tg-'));
  try {
    await embedded(report, dir);
    await bullmq(report, dir);
    await webhookAck(report, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
