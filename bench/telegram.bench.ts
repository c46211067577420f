/**
 * Telegram figures (issue 4), all through the real `bot telegram` process (grammY inside) against
 * the fake Bot API on 127.0.0.1:
 * - updates/s from the fake server through to final replies, echo model, embedded mode (inline
 *   queue, file store) and BullMQ mode (Redis store, one `bot worker` process);
 * - webhook ack latency p50/p99 while every turn's model call takes 30 s (target p99 < 100 ms).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { echoReply } from '../src/models/echo-model.js';
import { connectRedis } from '../src/redis/redis-connection.js';
import { FAKE_TOKEN, postJson, startFakeTelegram, type FakeTelegram } from '../test/helpers/fake-telegram-server.js';
import { startFakeOpenAI } from '../test/helpers/fake-openai-server.js';
import { freePort, spawnCli, stop, waitFor, type Proc } from './tools/cli-procs.js';
import { percentile, type Report } from './tools/report.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** `bot …` with this platform's fake credentials. */
const spawnBot = (home: string, args: string[], env: Record<string, string>): Proc => spawnCli(home, args, { TELEGRAM_BOT_TOKEN: FAKE_TOKEN, ...env });
const USERS = 200;
const PER_USER = 10;
const SECRET = 'bench-secret-0123456789';

function telegramEntry(apiRoot: string, extra: string[] = []): string {
  return ['bots:', '  - platform: telegram', `    api_root: ${apiRoot}`, '    poll_timeout_s: 5', ...extra].join('\n');
}

/** USERS × PER_USER messages pushed at once; resolves with updates/s until every final reply is shown. */
async function throughput(fake: FakeTelegram, proc: Proc): Promise<number> {
  const expected = new Map<number, string[]>();
  const t0 = performance.now();
  for (let u = 0; u < USERS; u++) {
    const chat = 100_000 + u;
    const sent: string[] = [];
    const replies: string[] = [];
    for (let k = 1; k <= PER_USER; k++) {
      const text = `u${u}m${k}`;
      sent.push(text);
      replies.push(echoReply(sent.map((content) => ({ role: 'user' as const, content }))));
      fake.userSays({ chat: { id: chat, type: 'private' }, from: { id: chat }, text });
    }
    expected.set(chat, replies);
  }
  const done = () => {
    for (const [chat, replies] of expected) {
      const shown = new Set(fake.messages(chat).map((m) => m.visible));
      if (!replies.every((r) => shown.has(r))) return false;
    }
    return true;
  };
  await waitFor(done, 300_000, 'every reply', proc);
  return (USERS * PER_USER) / ((performance.now() - t0) / 1000);
}

async function embedded(report: Report, dir: string): Promise<void> {
  const fake = await startFakeTelegram();
  const home = await mkdtemp(path.join(dir, 'home-'));
  const config = path.join(home, 'bots.yaml');
  await writeFile(config, ['agents: { assistant: { model: echo } }', telegramEntry(fake.url), 'log: { level: warn }', ''].join('\n'));
  const proc = spawnBot(home, ['--config', config, 'telegram'], {});
  try {
    await waitFor(() => /running/.test(proc.stderr()), 30_000, 'bot telegram ready', proc);
    const rate = await throughput(fake, proc);
    report.add({ name: `telegram updates/s → replies, echo model, embedded (file store), ${USERS} users × ${PER_USER}`, value: rate, unit: 'updates/s', extra: { apiCalls: fake.calls.length } });
  } finally {
    await stop(proc);
    await fake.close();
  }
}

async function bullmq(report: Report, dir: string): Promise<void> {
  const fake = await startFakeTelegram();
  const home = await mkdtemp(path.join(dir, 'home-'));
  const prefix = `bench-tg-${randomUUID().slice(0, 8)}`;
  const config = path.join(home, 'bots.yaml');
  await writeFile(
    config,
    [
      'agents: { assistant: { model: echo } }',
      `store: { backend: redis, url: "${REDIS_URL}", prefix: ${prefix} }`,
      `queue: { backend: bullmq, concurrency: 10, name: q-${prefix} }`,
      telegramEntry(fake.url, ['    leader: none']),
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  const worker = spawnBot(home, ['--config', config, 'worker'], { LOG_LEVEL: 'info' });
  const proc = spawnBot(home, ['--config', config, 'telegram'], {});
  try {
    await waitFor(() => /worker ready/.test(worker.stderr()), 30_000, 'worker ready', worker);
    await waitFor(() => /running/.test(proc.stderr()), 30_000, 'bot telegram ready', proc);
    const rate = await throughput(fake, proc);
    report.add({ name: `telegram updates/s → replies, echo model, BullMQ (Redis store, 1 worker), ${USERS} users × ${PER_USER}`, value: rate, unit: 'updates/s' });
  } finally {
    await Promise.all([stop(proc), stop(worker)]);
    await fake.close();
    const client = connectRedis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    client.disconnect();
  }
}

async function webhookAck(report: Report, dir: string): Promise<void> {
  const fake = await startFakeTelegram();
  const model = await startFakeOpenAI({ responder: () => ({ text: 'slow', delayMs: 30_000 }) });
  const home = await mkdtemp(path.join(dir, 'home-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const config = path.join(home, 'bots.yaml');
  await writeFile(
    config,
    ['agents: { assistant: { model: slow-model } }', telegramEntry(fake.url, ['    mode: webhook', `    webhook: { url: "${url}", secret: ${SECRET}, port: ${port} }`]), 'log: { level: warn }', ''].join('\n'),
  );
  const proc = spawnBot(home, ['--config', config, 'telegram'], { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'fake' });
  try {
    await waitFor(() => /running/.test(proc.stderr()), 30_000, 'bot telegram (webhook) ready', proc);
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
  } finally {
    // The turns would take 30 s each to finish: this bench does not wait for them.
    await stop(proc, 'SIGKILL');
    await Promise.all([fake.close(), model.close()]);
  }
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
