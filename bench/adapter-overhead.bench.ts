/**
 * Adapter overhead, in process: a platform event in → the turn enqueued, through the adapter kit
 * (the Telegram adapter on it, real grammY) and the host's ingress, echo model, memory store,
 * inline queue. Two figures:
 * - webhook round trip: the fake platform POSTs an update (keep-alive loopback HTTP) and gets the
 *   200 that Telegram reads as "accepted" — sent only once the turn is enqueued;
 * - ingest alone: the time inside the host's ingest (ingress chain + enqueue) per message.
 */
import { Agent, request } from 'node:http';
import type { Host } from '../src/host/host.js';
import { FAKE_TOKEN, startFakeTelegram } from '../test/helpers/fake-telegram-server.js';
import { freePort } from './tools/cli-procs.js';
import { startInProcessBot, type InProcessBot } from './tools/in-process-bot.js';
import { percentile, type Report } from './tools/report.js';

const N = 3_000;
const WARMUP = 300;
const SECRET = 'bench-overhead-secret';

function post(url: string, body: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-telegram-bot-api-secret-token': SECRET } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchAdapterOverhead(report: Report): Promise<void> {
  const fake = await startFakeTelegram();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/hook`;
  const yaml = [
    'agents: { assistant: { model: echo } }',
    'store: { backend: memory }',
    'bots:',
    '  - platform: telegram',
    `    token: "${FAKE_TOKEN}"`,
    `    api_root: ${fake.url}`,
    '    mode: webhook',
    `    webhook: { url: "${url}", secret: ${SECRET}, port: ${port} }`,
    '    set_commands: false',
    '',
  ].join('\n');
  const ingestMs: number[] = [];
  const wrapIngest = (ingest: Host['ingest']): Host['ingest'] => async (bot, message, reply) => {
    const t = performance.now();
    const outcome = await ingest(bot, message, reply);
    ingestMs.push(performance.now() - t);
    return outcome;
  };
  let running: InProcessBot | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    running = await startInProcessBot(yaml, { logLevel: 'warn', wrapIngest });
    const roundTrips: number[] = [];
    for (let i = 0; i < N + WARMUP; i++) {
      const chat = 70_000 + (i % 200);
      const body = JSON.stringify({ update_id: 900_000 + i, message: { message_id: i + 1, date: 0, chat: { id: chat, type: 'private' }, from: { id: chat, is_bot: false, first_name: 'B' }, text: `hello ${i}` } });
      const t = performance.now();
      const status = await post(url, body, agent);
      if (status !== 200) throw new Error(`bench: webhook answered ${status}`);
      if (i >= WARMUP) roundTrips.push(performance.now() - t);
    }
    const p99 = percentile(roundTrips, 99);
    report.add({ name: 'adapter overhead: webhook event in → turn enqueued → 200, p50 (in process, echo model)', value: percentile(roundTrips, 50), unit: 'ms' });
    report.add({ name: `adapter overhead: webhook event in → turn enqueued → 200, p99 (${N} events)`, value: p99, unit: 'ms', target: '< 2 ms', pass: p99 < 2 });
    report.add({ name: 'adapter overhead: host ingest alone (ingress chain + enqueue), p99', value: percentile(ingestMs.slice(WARMUP), 99), unit: 'ms' });
  } finally {
    agent.destroy();
    await running?.close();
    await fake.close();
  }
}
