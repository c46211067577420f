/**
 * Model-call figure: the CPU this process spends per streamed call of the OpenAI-compatible
 * model (request, SSE reading, deltas out), with many calls in flight, as a worker holds them.
 * The fake OpenAI-compatible server runs in a child process so that its CPU is not counted; it
 * answers after 200 ms, with a short reply (9 SSE events) or a 200-word one (203 events).
 * Each figure is the median of 3 runs, after a warm-up round that fills the connection pool.
 *
 * BENCH_MODEL_CALL_COMPARE=<dist directory of another build>: the same calls through that build's
 * model too, alternating run by run with this one, reported as a second set of figures — how two
 * implementations of the model call are compared in one time window (docs/decisions.md).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChatModel } from '../src/core/model.js';
import type { createOpenAICompatibleModel } from '../src/models/openai-compatible-model.js';
import { median, type Report } from './tools/report.js';

const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMPARE = process.env.BENCH_MODEL_CALL_COMPARE;
const RUNS = 3;
const CASES = [
  { label: 'short reply (9 events)', words: 0, calls: 2_000, inFlight: 500 },
  { label: '200-word reply (203 events)', words: 200, calls: 600, inFlight: 300 },
] as const;

type Factory = typeof createOpenAICompatibleModel;

export async function benchModelCall(report: Report): Promise<void> {
  const builds: Array<{ name: string; create: Factory }> = [{ name: 'this build', create: await factoryOf(DIST) }];
  if (COMPARE) builds.push({ name: `build at ${COMPARE}`, create: await factoryOf(path.resolve(COMPARE)) });
  for (const c of CASES) {
    const server = await startServer(c.words);
    try {
      const perCall = new Map<string, number[]>(builds.map((b) => [b.name, []]));
      const models = builds.map((b) => ({ name: b.name, model: b.create({ baseURL: server.url, apiKey: 'bench-key', model: 'fake-model' }) }));
      for (const { model } of models) await callMany(model, c.inFlight, c.inFlight);
      for (let run = 0; run < RUNS; run++) {
        for (const { name, model } of models) perCall.get(name)!.push(await cpuMsPerCall(model, c.calls, c.inFlight));
      }
      for (const { name } of models) {
        const runs = perCall.get(name)!;
        report.add({
          name: `model call CPU, ${c.label}, ${c.inFlight} in flight${COMPARE ? `, ${name}` : ''}`,
          value: median(runs),
          unit: 'ms/call',
          extra: { runs: runs.map((ms) => Math.round(ms * 1000) / 1000), loadAverage: (await import('node:os')).loadavg()[0]!.toFixed(1) },
        });
      }
    } finally {
      server.stop();
    }
  }
}

async function factoryOf(dist: string): Promise<Factory> {
  const url = pathToFileURL(path.join(dist, 'src', 'models', 'openai-compatible-model.js')).href;
  return ((await import(url)) as { createOpenAICompatibleModel: Factory }).createOpenAICompatibleModel;
}

async function cpuMsPerCall(model: ChatModel, calls: number, inFlight: number): Promise<number> {
  const before = process.cpuUsage();
  await callMany(model, calls, inFlight);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / calls;
}

/** `calls` streamed calls, `inFlight` at a time, each read to its end. */
async function callMany(model: ChatModel, calls: number, inFlight: number): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started++ < calls) {
      let text = '';
      for await (const delta of model.stream({ system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }], onUsage: () => undefined })) text += delta;
      if (text === '') throw new Error('the fake model sent an empty reply');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/** The fake server in its own process: its CPU is not this process's. */
async function startServer(words: number): Promise<{ url: string; stop: () => void }> {
  const helper = pathToFileURL(path.join(DIST, 'test', 'helpers', 'fake-openai-server.js')).href;
  const script = [
    `import { startFakeOpenAI } from ${JSON.stringify(helper)};`,
    `const text = Array.from({ length: ${words} }, (_, i) => 'word' + i).join(' ');`,
    `const fake = await startFakeOpenAI({ keepRequests: 10, replyDelayMs: 200, backlog: 4096, ...(text ? { responder: () => text } : {}) });`,
    `process.stdout.write(fake.url + '\\n');`,
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(String(data).trim()));
    child.once('exit', (code) => reject(new Error(`the fake model server exited (${code})`)));
  });
  return { url, stop: () => child.kill() };
}
