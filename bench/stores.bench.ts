/**
 * Session store figures side by side, in one run (issue 6): append and read-the-last-20 on
 * Postgres vs Redis vs file, at an empty session and at 10 000 messages, plus fenced turn
 * commits per second from 8 concurrent clients on distinct sessions. Appends alternate between
 * the empty and the big session so drift hits both alike. Needs Redis (REDIS_URL) and Postgres
 * (DATABASE_URL); each gets its own key prefix / schema, removed afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { SessionLog } from '../src/core/session-store.js';
import { FileSessionStore } from '../src/sessions/file-session-store.js';
import { PostgresSessionStore } from '../src/sessions/postgres-session-store.js';
import { RedisSessionStore } from '../src/sessions/redis-session-store.js';
import { deleteKeys } from './tools/redis-keys.js';
import { median, timeMs, type Report } from './tools/report.js';

const BIG = 10_000;
const APPENDS = 300;
const READS = 300;
const CLIENTS = 8;
const COMMITS_PER_CLIENT = 250;

interface Backend {
  name: string;
  open(): SessionLog;
  cleanup(): Promise<void>;
}

export async function benchStores(report: Report): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-bench-stores-'));
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const pgUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const backends: Backend[] = [
    { name: 'file', open: () => new FileSessionStore({ dir, maxMessages: 20_000 }), cleanup: () => rm(dir, { recursive: true, force: true }) },
    {
      name: 'redis',
      open: () => new RedisSessionStore({ url: redisUrl, prefix, maxMessages: 20_000 }),
      async cleanup() {
        const r = new Redis(redisUrl);
        await deleteKeys(r, prefix);
        r.disconnect();
      },
    },
    {
      name: 'postgres',
      open: () => new PostgresSessionStore({ url: pgUrl, schema, maxMessages: 20_000, poolSize: CLIENTS + 2 }),
      async cleanup() {
        const pool = new pg.Pool({ connectionString: pgUrl, max: 1 });
        await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
        await pool.end();
      },
    },
  ];
  try {
    for (const b of backends) await benchOne(report, b);
  } finally {
    for (const b of backends) await b.cleanup().catch(() => undefined);
  }
}

async function benchOne(report: Report, backend: Backend): Promise<void> {
  const store = backend.open();
  try {
    // Fill one session to 10 000 messages, a turn (two entries) per commit.
    for (let i = 0; i < BIG; i += 200) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          store.commitTurn('big', { entries: [{ role: 'user', content: `q${i + 2 * j}`.padEnd(120, '.') }, { role: 'assistant', content: `a${i + 2 * j}`.padEnd(200, '.') }] }),
        ),
      );
    }
    const emptyMs: number[] = [];
    const bigMs: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      emptyMs.push(await timeMs(() => store.addMessage(`empty-${i % 10}`, 'user', `message ${i} `.padEnd(120, '.'))));
      bigMs.push(await timeMs(() => store.addMessage('big', 'user', `message ${i} `.padEnd(120, '.'))));
    }
    const [empty, big] = [median(emptyMs), median(bigMs)];
    report.add({ name: `stores: ${backend.name} append, empty session (median)`, value: empty, unit: 'ms' });
    report.add({ name: `stores: ${backend.name} append at 10 000 messages (median)`, value: big, unit: 'ms', target: '≤ 1.5× empty', pass: big <= 1.5 * empty });

    const readsEmpty: number[] = [];
    const readsBig: number[] = [];
    for (let i = 0; i < READS; i++) {
      readsEmpty.push(await timeMs(() => store.getChatHistory('empty-0', 20)));
      readsBig.push(await timeMs(() => store.getChatHistory('big', 20)));
    }
    report.add({ name: `stores: ${backend.name} read last 20 of a small session (median)`, value: median(readsEmpty), unit: 'ms' });
    report.add({ name: `stores: ${backend.name} read last 20 of 10 000 (median)`, value: median(readsBig), unit: 'ms', target: '≤ 1 ms (PraisonAI 30 ms)', pass: median(readsBig) <= 1 });

    // Fenced, idempotent turn commits (what a worker does), 8 clients on 8 sessions.
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < COMMITS_PER_CLIENT; i++) {
          await store.commitTurn(`turns-${c}`, { inboundId: `m${i}`, fence: 1, entries: [{ role: 'user', content: `u${i}` }, { role: 'assistant', content: `a${i}` }] });
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    report.add({ name: `stores: ${backend.name} turn commits/s, ${CLIENTS} clients × ${COMMITS_PER_CLIENT}`, value: (CLIENTS * COMMITS_PER_CLIENT) / seconds, unit: '/s' });
  } finally {
    await store.close();
  }
}
