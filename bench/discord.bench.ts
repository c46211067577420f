/**
 * Discord figures, all with the real discord.js against the fake Discord (REST + gateway) on
 * 127.0.0.1:
 * - gateway event → turn enqueued, p50/p99, in process: the fake writes MESSAGE_CREATE to the
 *   socket; discord.js parses it, the adapter normalizes it, the host's ingress chain accepts it
 *   into the inline queue (memory store, then the file store), at a steady 200 events/s from
 *   100 users — while the turns run and their replies go out in the same process;
 * - turns/s through a spawned `bot discord` with the echo model, embedded (inline queue, file
 *   store) and BullMQ (Redis store, one `bot worker` process), from the first DM to the last
 *   final reply shown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '../src/host/host.js';
import { FAKE_DISCORD_TOKEN, startFakeDiscord, type FakeDiscord } from '../test/helpers/fake-discord-server.js';
import { waitFor, type Proc } from './tools/cli-procs.js';
import { startInProcessBot, type InProcessBot } from './tools/in-process-bot.js';
import { ECHO_AGENT, echoThroughput, withBotProcess, withBullMQConfig, type PlatformCommand } from './tools/platform-runs.js';
import { percentile, type Report } from './tools/report.js';

/** `bot discord` with the fake's token. */
const DISCORD: PlatformCommand = { command: 'discord', env: { DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN } };
/**
 * Each turn costs one to three REST calls (the post; an edit when a streamed preview was shown;
 * typing, at most once per interval per channel) and discord.js keeps to Discord's global
 * 50 requests/s per bot, so a bot tops out near 40–50 turns/s whatever the host does; the
 * throughput runs are sized for that.
 */
const USERS = 50;
const PER_USER = 6;
const LATENCY = { events: 2000, users: 100, perSecond: 200 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const userOf = (u: number) => ({ id: String(1_300_000_000_000_000_000n + BigInt(u)), username: `bench${u}` });

function discordEntry(apiRoot: string, extra: string[] = []): string {
  return ['bots:', '  - platform: discord', `    api_root: ${apiRoot}`, '    slash_commands: false', ...extra].join('\n');
}

/** In process: MESSAGE_CREATE written to the socket → the host's ingress resolved `enqueued`. */
async function eventToEnqueued(report: Report, dir: string, store: 'file' | 'memory'): Promise<void> {
  const fake = await startFakeDiscord();
  const yaml = [ECHO_AGENT, store === 'memory' ? 'store: { backend: memory }' : `store: { backend: file, path: "${path.join(dir, 'latency-sessions')}" }`, discordEntry(fake.url, [`    token: "${FAKE_DISCORD_TOKEN}"`, '    leader: none']), ''].join('\n');
  const enqueuedAt = new Map<string, number>();
  const wrapIngest = (ingest: Host['ingest']): Host['ingest'] => async (bot, message, reply) => {
    const outcome = await ingest(bot, message, reply);
    if (outcome === 'enqueued') enqueuedAt.set(message.messageId, performance.now());
    return outcome;
  };
  let running: InProcessBot | undefined;
  try {
    running = await startInProcessBot(yaml, { logLevel: 'silent', wrapIngest });
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < LATENCY.events; i++) {
      const due = t0 + (i * 1000) / LATENCY.perSecond;
      const ahead = due - performance.now();
      if (ahead > 1) await sleep(ahead);
      const at = performance.now();
      sentAt.set(fake.dm(userOf(i % LATENCY.users), `latency ${i}`), at);
    }
    await waitFor(() => enqueuedAt.size >= LATENCY.events, 60_000, 'every event enqueued');
    const latencies = [...sentAt].map(([id, at]) => enqueuedAt.get(id)! - at);
    const name = `discord gateway event → turn enqueued, in process (${LATENCY.events} DMs at ${LATENCY.perSecond}/s, ${LATENCY.users} users, inline queue, ${store} store)`;
    // The machine's load says how much of the tail is other processes competing for the CPU.
    const extra = { loadavg1m: Math.round(os.loadavg()[0]! * 10) / 10, cpus: os.cpus().length };
    report.add({ name: `${name} p50`, value: percentile(latencies, 50), unit: 'ms', extra });
    report.add({ name: `${name} p99`, value: percentile(latencies, 99), unit: 'ms', extra });
  } finally {
    // Replies still queued behind Discord's 50 requests/s are not what this measures: close the
    // fake first, so they fail fast instead of draining for minutes.
    await fake.close();
    await running?.close();
  }
}

/** USERS × PER_USER DMs at once; resolves with turns/s until every final reply is shown. */
function throughput(fake: FakeDiscord, proc: Proc): Promise<number> {
  const send = (u: number, text: string) => {
    const user = userOf(u);
    fake.dm(user, text);
    return fake.dmChannelOf(user.id);
  };
  return echoThroughput(proc, USERS, PER_USER, send, (channel) => fake.messages(channel).map((m) => m.content));
}

async function embedded(report: Report, dir: string): Promise<void> {
  const fake = await startFakeDiscord();
  await withBotProcess(dir, DISCORD, [ECHO_AGENT, discordEntry(fake.url)], async (proc) => {
    const rate = await throughput(fake, proc);
    report.add({ name: `discord turns/s → final replies, echo model, embedded (file store), ${USERS} users × ${PER_USER}`, value: rate, unit: 'turns/s', extra: { restCalls: fake.calls.length } });
  }, { closeAfter: [fake] });
}

async function bullmq(report: Report, dir: string): Promise<void> {
  await withBullMQConfig('bench-dc', async (queueYaml) => {
    const fake = await startFakeDiscord();
    await withBotProcess(dir, DISCORD, [ECHO_AGENT, ...queueYaml, discordEntry(fake.url, ['    leader: none'])], async (proc) => {
      const rate = await throughput(fake, proc);
      report.add({ name: `discord turns/s → final replies, echo model, BullMQ (Redis store, 1 worker), ${USERS} users × ${PER_USER}`, value: rate, unit: 'turns/s' });
    }, { worker: true, closeAfter: [fake] });
  });
}

export async function benchDiscord(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-dc-'));
  try {
    await eventToEnqueued(report, dir, 'memory');
    await eventToEnqueued(report, dir, 'file');
    await embedded(report, dir);
    await bullmq(report, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
