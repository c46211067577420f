/**
 * File session store figures (issue: foundation), each beside what it is judged by:
 * append cost at 10 000 messages vs an empty session, durable append latency, reading the last
 * 20 of 10 000, 8 OS processes appending to one session, and the embedded intake judged by them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSessionStore } from '../src/sessions/file-session-store.js';
import { benchIntake } from './intake.bench.js';
import { median, percentile, timeMs, type Report } from './tools/report.js';

const APPENDS = 400;
const BIG = 10_000;

async function appendLatencies(store: FileSessionStore, session: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await timeMs(() => store.addMessage(session, 'user', `message ${i} `.padEnd(120, '.'))));
  return out;
}

export async function benchFileStore(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-'));
  try {
    const store = new FileSessionStore({ dir, maxMessages: 20_000 });
    // Fill one session to 10 000 messages (fsync off for the fill only).
    const filler = new FileSessionStore({ dir, maxMessages: 20_000, durable: false });
    for (let i = 0; i < BIG; i += 2) {
      await filler.commitTurn('big-session', { entries: [{ role: 'user', content: `q${i}`.padEnd(120, '.') }, { role: 'assistant', content: `a${i}`.padEnd(200, '.') }] });
    }
    await store.getSession('big-session');
    // Alternate appends to a new (empty) session and the big one, so drift hits both alike.
    const emptyMs: number[] = [];
    const bigMs: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      emptyMs.push(...(await appendLatencies(store, 'empty-session', 1)));
      bigMs.push(...(await appendLatencies(store, 'big-session', 1)));
    }
    const empty = median(emptyMs);
    const big = median(bigMs);
    report.add({ name: 'file store: durable append, empty session (median)', value: empty, unit: 'ms', target: '≤ 2 ms (PraisonAI 1.9 ms, no fsync)', pass: empty <= 2 });
    report.add({ name: 'file store: durable append at 10 000 messages (median)', value: big, unit: 'ms', target: '≤ 2 ms (PraisonAI 144 ms, no fsync)', pass: big <= 2 });
    const emptyP99 = percentile(emptyMs, 99);
    report.add({ name: 'file store: durable append, empty session (p99)', value: emptyP99, unit: 'ms' });
    const ratio = big / empty;
    report.add({ name: 'file store: append cost ratio 10 000 vs empty', value: ratio, unit: '×', target: '≤ 1.5× (PraisonAI 76×)', pass: ratio <= 1.5 });

    // A fresh store instance has no cached tail state, as in a new process: its first append
    // starts from the verified checkpoint. Nine of them, one append each; the median is the
    // figure (one sample is mostly one fdatasync's latency, which varies several-fold here).
    const colds: number[] = [];
    let cold = new FileSessionStore({ dir, maxMessages: 20_000 });
    for (let i = 0; i < 9; i++) {
      cold = new FileSessionStore({ dir, maxMessages: 20_000 });
      colds.push(await timeMs(() => cold.addMessage('big-session', 'user', `first append in a new process ${i}`)));
    }
    const coldFirst = median(colds);
    report.add({
      name: 'file store: first append at 10 000 in a new process (from the verified checkpoint, median of 9)',
      value: coldFirst,
      unit: 'ms',
      target: '≤ 5 ms (what later appends cost, not a whole-file scan)',
      pass: coldFirst <= 5,
      extra: { maxMs: Math.max(...colds) },
    });

    const reads: number[] = [];
    for (let i = 0; i < 300; i++) reads.push(await timeMs(() => cold.getChatHistory('big-session', 20)));
    const read = median(reads);
    report.add({ name: 'file store: read last 20 of 10 000 (median)', value: read, unit: 'ms', target: '≤ 1 ms (PraisonAI 30 ms)', pass: read <= 1 });

    await benchMultiProcess(report, dir);
    await benchIntake(report, { p50: empty, p99: emptyP99 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Three rounds of the contended run, each on a session of its own; the figure is their median. */
async function benchMultiProcess(report: Report, dir: string): Promise<void> {
  const rounds: ContendedRound[] = [];
  for (let r = 0; r < 3; r++) rounds.push(await contendedRound(dir, `contended-session-${r}`));
  const { procs, each } = CONTENDED;
  const wallMs = median(rounds.map((r) => r.wallMs));
  const ok = rounds.every((r) => r.ok);
  report.add({
    name: `file store: ${procs} processes × ${each} appends, one session (wall from a start barrier, median of 3)`,
    value: wallMs,
    unit: 'ms',
    target: '≤ 1000 ms, 1600 stored, 0 errors/dups (PraisonAI 18.6 s, 5–8 failures)',
    pass: ok && wallMs <= 1000,
    extra: { rounds: rounds.map(({ ok: _ok, ...r }) => r), loadAverage: os.loadavg()[0] },
  });
}

const CONTENDED = { procs: 8, each: 200 } as const;

interface ContendedRound {
  wallMs: number;
  ok: boolean;
  stored: number;
  errors: number;
  duplicates: number;
  orderKept: boolean;
  writersCpuMs: number;
  withProcessStartMs: number;
}

async function contendedRound(dir: string, session: string): Promise<ContendedRound> {
  const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tools', 'file-store-writer.js');
  const { procs, each } = CONTENDED;
  const spawnedAt = process.hrtime.bigint();
  const children = Array.from({ length: procs }, (_, p) => {
    const child = spawn(process.execPath, [writer, dir, session, String(p), String(each)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) => child.stdout.on('data', (d) => ((out += d), out.startsWith('ready\n') && resolve())));
    const done = new Promise<{ errors: number; cpuMs: number }>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length))) : reject(new Error(`writer ${p} exited ${code}`))));
    });
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  const started = process.hrtime.bigint();
  for (const c of children) c.child.stdin.write('go\n');
  const results = await Promise.all(children.map((c) => c.done));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const withStartMs = Number(process.hrtime.bigint() - spawnedAt) / 1e6;
  const store = new FileSessionStore({ dir, maxMessages: 100_000 });
  const entries = await store.getEntries(session);
  const contents = entries.map((e) => e.content);
  const dupes = contents.length - new Set(contents).size;
  let orderKept = true;
  for (let p = 0; p < procs; p++) {
    const mine = contents.filter((c) => c.startsWith(`p${p}-`)).map((c) => Number(c.split('-')[1]));
    orderKept &&= mine.every((v, i) => v === i) && mine.length === each;
  }
  const errors = results.reduce((n, r) => n + r.errors, 0);
  // CPU of the appends in all writers: steadier than wall time on a shared machine.
  const cpuMs = Math.round(results.reduce((n, r) => n + r.cpuMs, 0));
  const ok = entries.length === procs * each && errors === 0 && dupes === 0 && orderKept;
  return { wallMs: Math.round(wallMs), ok, stored: entries.length, errors, duplicates: dupes, orderKept, writersCpuMs: cpuMs, withProcessStartMs: Math.round(withStartMs) };
}
