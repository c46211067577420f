/**
 * Hierarchy figures (issue 6): forking a 10 000-message session costs O(1) in time and bytes —
 * shown beside a 100-message session on the same store, and beside copying the history, which
 * is what a fork would cost without copy-on-write. Also: snapshot + revert at 10 000, a fork's
 * stitched read, and what the plain turn path pays for reading through the hierarchy.
 * File store (fsync on) and Redis (REDIS_URL, a unique key prefix, cleaned up).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { SessionLog } from '../src/core/session-store.js';
import { FileSessionStore } from '../src/sessions/file-session-store.js';
import { HierarchicalSessionStore } from '../src/sessions/hierarchy/hierarchical-session-store.js';
import { RedisSessionStore } from '../src/sessions/redis-session-store.js';
import { median, timeMs, type Report } from './tools/report.js';

const SIZES: readonly [number, number] = [100, 10_000];
const FORKS = 30;
const TARGET_MS = 5;
/** Ids of equal length for both sizes, so the bytes a fork writes compare like for like. */
const parentOf = (n: number) => (n === SIZES[0] ? 'parent-small' : 'parent-large');
const forkOf = (n: number) => (n === SIZES[0] ? 'fork-small' : 'fork-large');

interface Backend {
  name: string;
  store: SessionLog;
  /** Bytes the backend holds for these sessions (files on disk, or Redis MEMORY USAGE). */
  bytes(sessions: string[]): Promise<number>;
  close(): Promise<void>;
}

async function fill(store: SessionLog, id: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const k = Math.min(500, n - i);
    await store.commitTurn(id, { entries: Array.from({ length: k }, (_, j) => ({ role: (i + j) % 2 ? 'assistant' : 'user', content: `message ${i + j} `.padEnd(160, '.') }) as const) });
  }
}

async function fileBackend(): Promise<Backend> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-fork-bench-'));
  const store = new FileSessionStore({ dir, maxMessages: 20_000 });
  return {
    name: 'file',
    store,
    async bytes() {
      let total = 0;
      for (const f of await readdir(dir)) total += (await stat(path.join(dir, f))).size;
      return total;
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function redisBackend(): Promise<Backend> {
  const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `bench-fork-${randomUUID().slice(0, 8)}`;
  const store = new RedisSessionStore({ client, prefix, maxMessages: 20_000 });
  const keysOf = async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  };
  return {
    name: 'redis',
    store,
    async bytes() {
      let total = 0;
      for (const k of await keysOf()) total += Number((await client.memory('USAGE', k, 'SAMPLES', 0)) ?? 0);
      return total;
    },
    async close() {
      const keys = await keysOf();
      for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
      await store.close();
      client.disconnect();
    },
  };
}

async function benchBackend(report: Report, backend: Backend): Promise<void> {
  const h = new HierarchicalSessionStore(backend.store);
  const [small, big] = SIZES;
  for (const n of SIZES) await fill(backend.store, parentOf(n), n);
  // Warm-up (script loading, file handles), then forks of both sizes alternate so drift hits both alike.
  for (let i = 0; i < 5; i++) await h.forkSession(parentOf(small), { id: `warmup-${i}` });
  const times = new Map<number, number[]>(SIZES.map((n) => [n, []]));
  const sizes = new Map<number, number[]>(SIZES.map((n) => [n, []]));
  for (let i = 0; i < FORKS; i++) {
    for (const n of SIZES) {
      const before = await backend.bytes([]);
      times.get(n)!.push(await timeMs(() => h.forkSession(parentOf(n), { id: `${forkOf(n)}-${i}` })));
      sizes.get(n)!.push((await backend.bytes([])) - before);
    }
  }
  const forkMs = new Map(SIZES.map((n) => [n, median(times.get(n)!)]));
  const forkBytes = new Map(SIZES.map((n) => [n, median(sizes.get(n)!)]));
  for (const n of SIZES) {
    report.add({
      name: `${backend.name}: fork of a ${n.toLocaleString('en')}-message session (median of ${FORKS})`,
      value: forkMs.get(n)!,
      unit: 'ms',
      target: `< ${TARGET_MS} ms`,
      pass: forkMs.get(n)! < TARGET_MS,
      extra: { bytesWritten: forkBytes.get(n) },
    });
  }
  const ratio = forkMs.get(big)! / forkMs.get(small)!;
  report.add({ name: `${backend.name}: fork time ${big.toLocaleString('en')} vs ${small} messages`, value: ratio, unit: '×', target: 'constant (≤ 1.5×)', pass: ratio <= 1.5 });
  report.add({
    name: `${backend.name}: bytes written by a fork, ${big.toLocaleString('en')} vs ${small} messages`,
    value: forkBytes.get(big)! - forkBytes.get(small)!,
    unit: 'bytes difference',
    // Constant, not O(messages): only the digits of the cursors the fork and its hold on the
    // parent record grow (a copy of 10 000 messages would be about a megabyte).
    target: 'constant (|difference| ≤ 128 bytes)',
    pass: Math.abs(forkBytes.get(big)! - forkBytes.get(small)!) <= 128,
    extra: { [`bytes@${small}`]: forkBytes.get(small), [`bytes@${big}`]: forkBytes.get(big) },
  });

  // What a fork costs without copy-on-write: read the history and write it again.
  const parent = parentOf(big);
  const copyMs = await timeMs(async () => {
    const entries = await backend.store.getEntries(parent);
    for (let i = 0; i < entries.length; i += 500) {
      await backend.store.commitTurn('copied-fork', { entries: entries.slice(i, i + 500).map(({ role, content }) => ({ role, content })) });
    }
  });
  report.add({ name: `${backend.name}: copying a ${big.toLocaleString('en')}-message history instead (what a fork would cost without copy-on-write)`, value: copyMs, unit: 'ms' });

  const snapMs: number[] = [];
  const revertMs: number[] = [];
  for (let i = 0; i < 10; i++) {
    let snap = '';
    snapMs.push(await timeMs(async () => void (snap = await h.createSnapshot(parent, `s${i}`))));
    await backend.store.addMessage(parent, 'user', 'after the snapshot');
    revertMs.push(await timeMs(() => h.revertToSnapshot(parent, snap)));
  }
  report.add({ name: `${backend.name}: snapshot of a ${big.toLocaleString('en')}-message session (median)`, value: median(snapMs), unit: 'ms', target: `< ${TARGET_MS} ms`, pass: median(snapMs) < TARGET_MS });
  report.add({ name: `${backend.name}: revert to that snapshot (median)`, value: median(revertMs), unit: 'ms', target: `< ${TARGET_MS} ms`, pass: median(revertMs) < TARGET_MS });

  // A turn's history read: a fork (stitched from two logs) and a plain session, direct and through the hierarchy.
  const fork = `${forkOf(big)}-0`;
  await backend.store.addMessage(fork, 'user', 'the fork speaks');
  const reads = { fork: [] as number[], plainDirect: [] as number[], plainThrough: [] as number[] };
  for (let i = 0; i < 200; i++) {
    reads.fork.push(await timeMs(() => h.getChatHistory(fork, 20)));
    reads.plainDirect.push(await timeMs(() => backend.store.getChatHistory(parentOf(small), 20)));
    reads.plainThrough.push(await timeMs(() => h.getChatHistory(parentOf(small), 20)));
  }
  report.add({ name: `${backend.name}: last 20 messages of a fork of ${big.toLocaleString('en')} (stitched, median)`, value: median(reads.fork), unit: 'ms' });
  const added = median(reads.plainThrough) - median(reads.plainDirect);
  report.add({
    name: `${backend.name}: time a plain session's turn read pays for going through the hierarchy (median)`,
    value: added,
    unit: 'ms',
    target: '≤ 0.5 ms (one metadata read in the same round trip)',
    pass: added <= 0.5,
    extra: { throughMs: median(reads.plainThrough), directMs: median(reads.plainDirect) },
  });
}

export async function benchFork(report: Report): Promise<void> {
  for (const make of [fileBackend, redisBackend]) {
    const backend = await make();
    try {
      await benchBackend(report, backend);
    } finally {
      await backend.close();
    }
  }
}
