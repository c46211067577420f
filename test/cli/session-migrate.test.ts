/**
 * `bot session migrate`, spawned as the real CLI: file → postgres → redis → file, each hop
 * verified by reading the target with its own store — cursors (also after trimming and
 * clearing), timestamps, metadata, remembered inbound ids and fences survive — and re-runs
 * that skip what is there, report conflicts, and refuse bad arguments clearly.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import path from 'node:path';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEntry, SessionLog } from '../../src/core/session-store.js';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { PostgresSessionStore } from '../../src/sessions/postgres-session-store.js';
import { RedisSessionStore } from '../../src/sessions/redis-session-store.js';
import { deleteByPrefix } from '../locks/redis-test-env.js';
import { CLI_ENTRY, cliEnv, runCli, useSandbox } from '../helpers/run-cli.js';
import { DATABASE_URL, connectPostgres, dropSchema, uniqueSchema } from '../sessions/pg-test-env.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const box = useSandbox();
let admin: pg.Pool;
let redis: Redis;
const schemas: string[] = [];
const prefixes: string[] = [];
beforeAll(async () => {
  admin = await connectPostgres();
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const s of schemas) await dropSchema(admin, s);
  for (const p of prefixes) await deleteByPrefix(redis, p);
  await admin?.end();
  redis?.disconnect();
});

const HOSTILE = "../x'; DROP TABLE sessions; --\u0000🙂";

/** Sessions that exercise everything an image carries. */
async function seedFileStore(dir: string): Promise<void> {
  const small = new FileSessionStore({ dir, maxMessages: 5 });
  // Trimmed: 60 messages; compaction (at 5 + 50 slack) leaves cursors 52..60.
  for (let i = 1; i <= 60; i++) await small.addMessage('trimmed', 'user', `t${i}`);
  await small.close();
  const store = new FileSessionStore({ dir });
  await store.commitTurn('bot_telegram_1', { inboundId: 'tg:1', fence: 3, entries: [{ role: 'user', content: 'My name is Alice', metadata: { message_id: '1' } }, { role: 'assistant', content: 'Hi Alice' }] });
  await store.commitTurn('bot_telegram_1', { inboundId: 'tg:2', fence: 3, entries: [{ role: 'user', content: 'line1\nline2' }, { role: 'assistant', content: '🙂 ok' }] });
  await store.updateMetadata('bot_telegram_1', { title: 'Alice', nested: { a: [1, null] } });
  // Cleared: cursor 2 kept, no entries.
  await store.addMessage('cleared', 'user', 'gone');
  await store.addMessage('cleared', 'assistant', 'gone too');
  await store.clearSession('cleared');
  await store.addMessage(HOSTILE, 'user', 'hostile id, ordinary data');
  await store.updateMetadata('metadata-only', { note: 'no messages yet' });
  await store.close();
}

interface Summary {
  sessions: number;
  migrated: number;
  alreadyMigrated: number;
  conflicts: string[];
  mismatched: string[];
  verified: { sessions: number; messages: number };
  ok: boolean;
}

async function migrate(args: string[]): Promise<{ code: number | null; summary: Summary | undefined; stderr: string; stdout: string }> {
  const r = await runCli(box.sb, ['session', 'migrate', ...args, '--json'], { timeoutMs: 30_000 });
  let summary: Summary | undefined;
  try {
    summary = JSON.parse(r.stdout) as Summary;
  } catch {
    summary = undefined;
  }
  return { code: r.code, summary, stderr: r.stderr, stdout: r.stdout };
}

/** Everything migrate promises to keep, read through the SessionLog API. */
async function snapshot(store: SessionLog): Promise<unknown> {
  const sessions = await store.listSessions({ limit: 100 });
  const out: Record<string, unknown> = {};
  for (const s of sessions) {
    const entries: SessionEntry[] = await store.getEntries(s.id);
    out[s.id] = { info: s, entries, tg1: await store.findCommitted(s.id, 'tg:1'), tg2: await store.findCommitted(s.id, 'tg:2') };
  }
  return out;
}

describe('bot session migrate', () => {
  it('file → postgres → redis → file keeps every session exactly; re-runs skip; conflicts are reported', { timeout: 120_000 }, async () => {
    const sourceDir = path.join(box.sb.root, 'source');
    await seedFileStore(sourceDir);
    const source = new FileSessionStore({ dir: sourceDir, maxMessages: 10_000_000 });
    const expected = await snapshot(source);
    await source.close();
    expect(Object.keys(expected as object).sort()).toEqual(['bot_telegram_1', 'cleared', 'metadata-only', 'trimmed', HOSTILE].sort());
    const trimmed = (expected as Record<string, { entries: SessionEntry[] }>).trimmed!.entries.map((e) => e.cursor);
    expect(trimmed).toEqual([52, 53, 54, 55, 56, 57, 58, 59, 60]);

    // file → postgres
    const schema = uniqueSchema();
    schemas.push(schema);
    const toPg = ['--from', 'file', '--from-path', sourceDir, '--to', 'postgres', '--to-url', DATABASE_URL, '--to-schema', schema];
    const first = await migrate(toPg);
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ sessions: 5, migrated: 5, alreadyMigrated: 0, conflicts: [], mismatched: [], verified: { sessions: 5, messages: 14 }, ok: true });
    // Not a terminal: progress comes as lines on stderr, the summary alone on stdout.
    expect(first.stderr).toMatch(/migrating: 5\/5 sessions \(100%\), 14 messages/);
    const pgStore = new PostgresSessionStore({ url: DATABASE_URL, schema });
    try {
      expect(await snapshot(pgStore)).toEqual(expected);
      // The fence came along: a worker fenced below it is still stale.
      expect(await pgStore.commitTurn('bot_telegram_1', { fence: 2, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 3 });
      // And new commits continue after the migrated cursors.
      expect(await pgStore.commitTurn('trimmed', { entries: [{ role: 'user', content: 't61' }] })).toEqual({ status: 'committed', cursors: [61] });
      expect(await pgStore.deleteSession('trimmed')).toBe(true);
    } finally {
      await pgStore.close();
    }

    // Re-run: the four untouched sessions are already there; the deleted one is copied again.
    const again = await migrate(toPg);
    expect(again.code, again.stderr).toBe(0);
    expect(again.summary).toMatchObject({ migrated: 1, alreadyMigrated: 4, conflicts: [], ok: true, verified: { sessions: 5, messages: 14 } });

    // A session written in the target since: left alone, reported, exit 1.
    const pgAgain = new PostgresSessionStore({ url: DATABASE_URL, schema });
    await pgAgain.addMessage('cleared', 'user', 'new in the target');
    await pgAgain.close();
    const conflict = await migrate(toPg);
    expect(conflict.code).toBe(1);
    expect(conflict.summary).toMatchObject({ conflicts: ['cleared'], alreadyMigrated: 4, ok: false });
    const plain = await runCli(box.sb, ['session', 'migrate', ...toPg], { timeoutMs: 30_000 });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/NOT migrated: 1 sessions already exist in the target with other content \(left as they are\): "cleared"/);
    const pgFix = new PostgresSessionStore({ url: DATABASE_URL, schema });
    await pgFix.deleteSession('cleared');
    await pgFix.close();
    expect((await migrate(toPg)).code).toBe(0);

    // postgres → redis
    const prefix = `t-migrate-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const toRedis = await migrate(['--from', 'postgres', '--from-url', DATABASE_URL, '--from-schema', schema, '--to', 'redis', '--to-url', REDIS_URL, '--to-prefix', prefix]);
    expect(toRedis.code, toRedis.stderr).toBe(0);
    expect(toRedis.summary).toMatchObject({ migrated: 5, verified: { sessions: 5, messages: 14 }, ok: true });
    const redisStore = new RedisSessionStore({ client: redis, prefix });
    expect(await snapshot(redisStore)).toEqual(expected);
    expect(await redisStore.commitTurn('bot_telegram_1', { fence: 2, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 3 });

    // redis → file (the default target directory of this sandbox's HOME)
    const toFile = await migrate(['--from', 'redis', '--from-url', REDIS_URL, '--from-prefix', prefix, '--to', 'file']);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toFile.summary).toMatchObject({ migrated: 5, verified: { sessions: 5, messages: 14 }, ok: true });
    const fileStore = new FileSessionStore({ dir: box.sb.sessionsDir });
    try {
      expect(await snapshot(fileStore)).toEqual(expected);
      expect(await fileStore.commitTurn('bot_telegram_1', { fence: 2, entries: [{ role: 'user', content: 'zombie' }] })).toEqual({ status: 'stale_fence', highestFence: 3 });
      expect(await fileStore.commitTurn('bot_telegram_1', { inboundId: 'tg:2', entries: [{ role: 'user', content: 'redelivered' }] })).toEqual({ status: 'duplicate', cursor: 3 });
      expect(await fileStore.commitTurn('cleared', { entries: [{ role: 'user', content: 'next' }] })).toEqual({ status: 'committed', cursors: [3] });
    } finally {
      await fileStore.close();
    }
  });

  it('on a terminal the progress is a bar redrawn in place, ending at 100%', { timeout: 60_000 }, async () => {
    const dir = path.join(box.sb.root, 'tty-source');
    const store = new FileSessionStore({ dir });
    for (let i = 0; i < 12; i++) await store.addMessage(`s${i}`, 'user', `m${i}`);
    await store.close();
    const schema = uniqueSchema();
    schemas.push(schema);
    const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, CLI_ENTRY, 'session', 'migrate', '--from', 'file', '--from-path', dir, '--to', 'postgres', '--to-url', DATABASE_URL, '--to-schema', schema].map(quote).join(' ');
    // script(1) runs the CLI on a pseudo-terminal, as an operator would see it.
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: cliEnv(box.sb), cwd: box.sb.cwd, timeout: 30_000 });
    const frames = stdout.split('\r').filter((f) => f.startsWith('migrating ['));
    expect(frames.length).toBeGreaterThanOrEqual(12);
    expect(frames.at(-1)).toMatch(/^migrating \[#{30}\] 100% 12\/12 sessions, 12 messages/);
    expect(stdout).toMatch(/verified 12 sessions, 12 messages read back from the target/);
  });

  it('bad arguments: unknown backend (exit 2), the same store twice and an unreachable target (exit 1), clearly', async () => {
    const unknown = await runCli(box.sb, ['session', 'migrate', '--from', 'sqlite', '--to', 'file']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown backend "sqlite" for --from; choose one of: file, redis, postgres/);
    const same = await runCli(box.sb, ['session', 'migrate', '--from', 'file', '--to', 'file']);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/--from and --to are the same store/);
    const down = await runCli(box.sb, ['session', 'migrate', '--from', 'file', '--to', 'postgres', '--to-url', 'postgres://postgres:hunter2@127.0.0.1:1/x'], { timeoutMs: 15_000 });
    expect(down.timedOut).toBe(false);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/Postgres migrate failed: connect ECONNREFUSED/);
    expect(down.all).not.toContain('hunter2');
    const noUrl = await runCli(box.sb, ['session', 'migrate', '--from', 'file', '--to', 'postgres']);
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toMatch(/needs --to-url \(or DATABASE_URL/);
    const missingFlag = await runCli(box.sb, ['session', 'migrate', '--from', 'file']);
    expect(missingFlag.code).toBe(2);
    expect(missingFlag.stderr).toMatch(/--to <backend>/);
  });
});
