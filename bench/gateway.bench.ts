/**
 * Gateway figures (issue 5): replay of 10 000 missed events to a resuming client, idle connections
 * held per 100 MB of gateway RSS (a real `bot gateway` process; clients in a child process), and
 * messages/s through the gateway with the echo model.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { parseConfig } from '../src/config/load.js';
import { createGateway } from '../src/gateway/gateway-server.js';
import { createHost } from '../src/host/host.js';
import { createLogger } from '../src/host/logger.js';
import { FileSessionStore } from '../src/sessions/file-session-store.js';
import { median, type Report } from './tools/report.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '..', 'src', 'cli', 'main.js');

async function inProcessGateway(dir: string, session: string) {
  const yaml = `agents: { assistant: { model: echo } }
store: { backend: file, path: "${dir}/sessions" }
gateway:
  allow_loopback_without_auth: true
  limits: { messages_per_minute: 1000000, burst: 100000, max_buffered_bytes: 8388608 }
  session: { ${session} }`;
  const logger = createLogger('silent');
  const host = await createHost(parseConfig(yaml, { env: {} }).config, { logger, env: {} });
  const gateway = createGateway({ host, logger, port: 0, env: {} });
  await gateway.start();
  return { host, gateway, url: `ws://127.0.0.1:${gateway.port}/ws`, stop: async () => (await gateway.stop(), await host.close()) };
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Resolves with the ms from sending `frame` until `until` matches a received frame. */
function timeUntil(ws: WebSocket, frame: unknown, until: (f: any) => boolean): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const onMessage = (d: WebSocket.RawData) => {
      if (until(JSON.parse(String(d)))) {
        ws.off('message', onMessage);
        resolve(performance.now() - t0);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify(frame));
  });
}

async function benchReplay(report: Report, dir: string): Promise<void> {
  const EVENTS = 10_000;
  const gwDir = path.join(dir, 'gw');
  const filler = new FileSessionStore({ dir: gwDir, maxMessages: 20_000, durable: false });
  await filler.updateMetadata('bot_web_replay', { 'gw.owner': 'local', 'gw.agent': 'assistant' });
  for (let i = 0; i < EVENTS; i += 2) {
    await filler.commitTurn('bot_web_replay', { entries: [{ role: 'user', content: `question ${i}`.padEnd(80, '.') }, { role: 'assistant', content: `answer ${i}`.padEnd(160, '.') }] });
  }
  await filler.close();
  const gw = await inProcessGateway(dir, `persist: true, persist_path: "${gwDir}", max_messages: 20000`);
  const times: number[] = [];
  for (let run = 0; run < 7; run++) {
    const ws = await open(gw.url);
    times.push(await timeUntil(ws, { type: 'join', session_id: 'replay', since: 0 }, (f) => f.type === 'replay' && f.cursor === EVENTS));
    ws.terminate();
  }
  await gw.stop();
  const ms = median(times);
  report.add({ name: 'gateway: replay 10 000 missed events to a resuming client (median of 7)', value: ms, unit: 'ms', target: '< 200 ms', pass: ms < 200 });
}

async function benchThroughput(report: Report, dir: string, label: string, session: string): Promise<void> {
  const SESSIONS = 20;
  const PER = 25;
  const gw = await inProcessGateway(dir, session);
  const clients = await Promise.all(Array.from({ length: SESSIONS }, () => open(gw.url)));
  await Promise.all(clients.map((ws, i) => timeUntil(ws, { type: 'join', session_id: `tp-${label}-${i}` }, (f) => f.type === 'joined')));
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (ws) => {
      for (let k = 0; k < PER; k++) await timeUntil(ws, { type: 'message', content: `hello ${k}`, id: `m${k}` }, (f) => f.type === 'response' && f.reply_to === `m${k}`);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  clients.forEach((ws) => ws.terminate());
  await gw.stop();
  report.add({ name: `gateway: messages/s with echo, ${SESSIONS} sessions in parallel (${label})`, value: (SESSIONS * PER) / seconds, unit: 'msg/s', extra: { sessions: SESSIONS, messages: SESSIONS * PER } });
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function benchIdle(report: Report, dir: string): Promise<void> {
  const N = 10_000;
  const config = path.join(dir, 'idle.yaml');
  await writeFile(config, `agents: { assistant: { model: echo } }\ngateway:\n  allow_loopback_without_auth: true\n  limits: { max_connections: 20000 }\n  session: { persist: false }\nlog: { level: warn }\n`);
  const gw = spawn(process.execPath, [CLI, '-c', config, 'gateway', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: dir } });
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    gw.stderr!.on('data', (d) => {
      err += d;
      const m = /web chat at http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
      if (m) resolve(Number(m[1]));
    });
    gw.once('exit', () => reject(new Error(`gateway exited: ${err}`)));
  });
  let clients: ChildProcess | undefined;
  try {
    await new Promise((r) => setTimeout(r, 500));
    const before = await rssKb(gw.pid!);
    clients = spawn(process.execPath, [path.join(HERE, 'tools', 'gateway-idle-clients.js'), `ws://127.0.0.1:${port}/ws`, String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      clients!.stdout!.on('data', (d) => (/ready/.test(String(d)) ? resolve() : undefined));
      clients!.once('exit', (code) => reject(new Error(`idle clients exited ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await rssKb(gw.pid!);
    const perHundredMb = N / ((after - before) / 1024 / 100);
    report.add({ name: 'gateway: idle joined connections per 100 MB of RSS', value: perHundredMb, unit: 'conn', target: '≥ 2 000 (10 000 in < 500 MB)', pass: after / 1024 < 500, extra: { connections: N, rssMbBefore: before / 1024, rssMbAfter: after / 1024 } });
    report.add({ name: 'gateway: RSS holding 10 000 idle connections', value: after / 1024, unit: 'MB', target: '< 500 MB', pass: after / 1024 < 500 });
  } finally {
    clients?.stdin?.end();
    clients?.kill();
    gw.kill('SIGTERM');
  }
}

export async function benchGateway(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-gw-bench-'));
  try {
    await benchReplay(report, dir);
    await benchThroughput(report, dir, 'file store, fsync', `persist: true, persist_path: "${dir}/tp"`);
    await benchThroughput(report, dir, 'memory', 'persist: false');
    await benchIdle(report, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
