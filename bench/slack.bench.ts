/**
 * Slack figures, against the fake Slack on 127.0.0.1 (real bolt inside):
 * - in process: a signed event POST → HTTP 200, sent only once the turn is enqueued (adapter +
 *   host ingress, echo model, memory store, inline queue);
 * - `bot slack` (spawned): HTTP event ack p50/p99 while every turn's model call takes 30 s
 *   (target p99 < 50 ms; Slack's own deadline is 3 s);
 * - `bot slack` (spawned): events/s from the fake through to final replies, echo model, embedded
 *   (file store) and BullMQ (Redis store, one `bot worker`).
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeOpenAI } from '../test/helpers/fake-openai-server.js';
import { FAKE_SLACK, startFakeSlack, type FakeSlack } from '../test/helpers/fake-slack-server.js';
import { slackSignature } from '../adapters/slack/verify.js';
import { freePort, waitFor, type Proc } from './tools/cli-procs.js';
import { startInProcessBot, type InProcessBot } from './tools/in-process-bot.js';
import { ECHO_AGENT, withBotProcess, withBullMQConfig, type PlatformCommand } from './tools/platform-runs.js';
import { percentile, type Report } from './tools/report.js';

const USERS = 100;
const PER_USER = 10;
const IN_FLIGHT = 32;
/** `bot slack` with the fake's token and signing secret. */
const SLACK: PlatformCommand = { command: 'slack', env: { SLACK_BOT_TOKEN: FAKE_SLACK.botToken, SLACK_SIGNING_SECRET: FAKE_SLACK.signingSecret } };

/** One signed event POST over a keep-alive connection; resolves the status and the round trip (ms). */
function signedPost(url: string, event: Record<string, unknown>, agent: Agent): Promise<{ status: number; ms: number }> {
  const body = JSON.stringify(event);
  const ts = Math.floor(Date.now() / 1000);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(FAKE_SLACK.signingSecret, ts, body) };
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const entry = (apiUrl: string, port: number) => ['bots:', '  - platform: slack', `    api_url: ${apiUrl}`, '    mode: http', `    http: { host: 127.0.0.1, port: ${port} }`];

/** USERS × PER_USER DMs, at most IN_FLIGHT deliveries at once; events/s until every reply is shown. */
async function throughput(fake: FakeSlack, target: string, proc: Proc): Promise<number> {
  const events: Array<Record<string, unknown>> = [];
  for (let k = 0; k < PER_USER; k++) for (let u = 0; u < USERS; u++) events.push(fake.userSays({ user: `UBEN${u}`, channel: `DBEN${u}`, text: `u${u}m${k}` }).message);
  const t0 = performance.now();
  let next = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < events.length) {
        const a = await signedPost(target, events[next++]!, agent);
        if (a.status !== 200) throw new Error(`bench: event answered ${a.status}`);
      }
    }),
  );
  agent.destroy();
  // A user is done once their last message's final reply is shown (replies come in order).
  const last = (u: number) => `[echo] turn ${PER_USER}: you said "u${u}m${PER_USER - 1}"`;
  const pending = new Set(Array.from({ length: USERS }, (_, u) => u));
  const done = () => {
    for (const u of pending) if (fake.botMessages(`DBEN${u}`).some((m) => m.text.startsWith(last(u)))) pending.delete(u);
    return pending.size === 0;
  };
  await waitFor(done, 300_000, 'every reply', proc);
  return (USERS * PER_USER) / ((performance.now() - t0) / 1000);
}

async function inProcess(report: Report): Promise<void> {
  const fake = await startFakeSlack();
  const port = await freePort();
  const yaml = [ECHO_AGENT, 'store: { backend: memory }', ...entry(fake.apiUrl, port), `    token: "${FAKE_SLACK.botToken}"`, `    signing_secret: "${FAKE_SLACK.signingSecret}"`, ''].join('\n');
  let running: InProcessBot | undefined;
  try {
    running = await startInProcessBot(yaml, { logLevel: 'warn' });
    const target = `http://127.0.0.1:${port}/slack/events`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const times: number[] = [];
    for (let i = 0; i < 2_300; i++) {
      const a = await signedPost(target, fake.userSays({ user: `UIN${i % 200}`, channel: `DIN${i % 200}`, text: `hello ${i}` }).message, agent);
      if (a.status !== 200) throw new Error(`bench: event answered ${a.status}`);
      if (i >= 300) times.push(a.ms);
    }
    // Same-hour yardstick: a bare keep-alive round trip to the fake's HTTP server from this process.
    const yard: number[] = [];
    for (let i = 0; i < 500; i++) yard.push((await signedPost(`${fake.url}/response/yardstick`, { ok: true }, agent)).ms);
    agent.destroy();
    report.add({ name: 'slack yardstick: bare loopback HTTP round trip on this machine now, p50', value: percentile(yard, 50), unit: 'ms' });
    report.add({ name: 'slack in process: signed event POST → 200 after enqueue, p50 (echo, memory store)', value: percentile(times, 50), unit: 'ms' });
    report.add({ name: 'slack in process: signed event POST → 200 after enqueue, p99', value: percentile(times, 99), unit: 'ms' });
  } finally {
    await running?.close();
    await fake.close();
  }
}

async function ackWhileSlow(report: Report, dir: string): Promise<void> {
  const fake = await startFakeSlack();
  const model = await startFakeOpenAI({ responder: () => ({ text: 'slow', delayMs: 30_000 }) });
  const port = await freePort();
  const measure = async () => {
    const target = `http://127.0.0.1:${port}/slack/events`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const times: number[] = [];
    const n = 300;
    for (let i = 0; i < n; i++) {
      const a = await signedPost(target, fake.userSays({ user: `USLOW${i % 50}`, channel: `DSLOW${i % 50}`, text: `slow question ${i}` }).message, agent);
      if (a.status !== 200) throw new Error(`bench: event answered ${a.status}`);
      times.push(a.ms);
      await new Promise((r) => setTimeout(r, 5));
    }
    agent.destroy();
    const p99 = percentile(times, 99);
    report.add({ name: 'slack HTTP event ack p50 while the model takes 30 s', value: percentile(times, 50), unit: 'ms' });
    report.add({ name: `slack HTTP event ack p99 while the model takes 30 s (${n} events, ${model.requests.length} model calls in flight)`, value: p99, unit: 'ms', target: '< 50 ms', pass: p99 < 50 });
  };
  // The turns would take 30 s each to finish: this bench does not wait for them (SIGKILL).
  await withBotProcess(dir, SLACK, ['agents: { assistant: { model: slow-model } }', ...entry(fake.apiUrl, port)], measure, { env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'fake' }, stopSignal: 'SIGKILL', closeAfter: [fake, model] });
}

async function embedded(report: Report, dir: string): Promise<void> {
  const fake = await startFakeSlack();
  const port = await freePort();
  await withBotProcess(dir, SLACK, [ECHO_AGENT, ...entry(fake.apiUrl, port)], async (proc) => {
    const rate = await throughput(fake, `http://127.0.0.1:${port}/slack/events`, proc);
    report.add({ name: `slack events/s → replies, echo model, embedded (file store), ${USERS} users × ${PER_USER}`, value: rate, unit: 'events/s', extra: { apiCalls: fake.calls.length } });
  }, { closeAfter: [fake] });
}

async function bullmq(report: Report, dir: string): Promise<void> {
  await withBullMQConfig('bench-slack', async (queueYaml) => {
    const fake = await startFakeSlack();
    const port = await freePort();
    await withBotProcess(dir, SLACK, [ECHO_AGENT, ...queueYaml, ...entry(fake.apiUrl, port)], async (proc) => {
      const rate = await throughput(fake, `http://127.0.0.1:${port}/slack/events`, proc);
      report.add({ name: `slack events/s → replies, echo model, BullMQ (Redis store, 1 worker), ${USERS} users × ${PER_USER}`, value: rate, unit: 'events/s' });
    }, { worker: true, closeAfter: [fake] });
  });
}

export async function benchSlack(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-slack-'));
  try {
    await inProcess(report);
    await ackWhileSlow(report, dir);
    await embedded(report, dir);
    await bullmq(report, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
