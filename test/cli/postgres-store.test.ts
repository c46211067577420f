/**
 * The CLI with `store.backend: postgres` (real Postgres at DATABASE_URL, one schema per test):
 * `bot chat` resumes across processes, `bot session` commands read it and exit promptly (an
 * open pool must not keep them alive), concurrent chat processes commit whole turns, and
 * `bot start` becomes ready on it. `url: ${DATABASE_URL}` is how an operator points at it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, killAllCli, makeSandbox, runCli, runCliJson, startCli, type Sandbox } from '../helpers/run-cli.js';
import { DATABASE_URL, connectPostgres, dropSchema, uniqueSchema } from '../sessions/pg-test-env.js';

let admin: pg.Pool;
let sb: Sandbox;
let schema: string;
let args: (...rest: string[]) => string[];

beforeAll(async () => {
  assertBuilt();
  admin = await connectPostgres();
});
beforeEach(async () => {
  sb = await makeSandbox({ DATABASE_URL });
  schema = uniqueSchema();
  const config = path.join(sb.cwd, 'pg.yaml');
  await fsp.writeFile(config, `store:\n  backend: postgres\n  url: \${DATABASE_URL}\n  schema: ${schema}\n  pool_size: 2\n`);
  args = (...rest) => ['--config', config, ...rest];
});
afterEach(async () => {
  killAllCli();
  await sb.cleanup();
  await dropSchema(admin, schema);
});
afterAll(async () => {
  killAllCli();
  await admin?.end();
});

describe('bot chat, bot session and bot start with the Postgres store', () => {
  it('resumes across processes, keeps the cursor across clear, and every command exits promptly', async () => {
    const first = await runCli(sb, args('chat', '--session', 'demo', '--message', 'My name is Alice'), { timeoutMs: 15_000 });
    expect(first.code, first.stderr).toBe(0);
    const second = await runCliJson<{ reply: string; cursor: number }>(sb, args('chat', '--session', 'demo', '--message', "What's my name?", '--json'));
    expect(second.cursor).toBe(4);
    expect(second.reply).toContain('Your name is Alice');
    await expect(fsp.access(sb.sessionsDir)).rejects.toThrow();
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.entries`)).rows[0]).toEqual({ n: 4 });

    const [list, show, missing] = await Promise.all([
      runCliJson<Array<{ id: string; lastCursor: number }>>(sb, args('session', 'list', '--json')),
      runCliJson<{ entries: Array<{ cursor: number; role: string }> }>(sb, args('session', 'show', 'demo', '--json')),
      runCli(sb, args('session', 'show', 'nope'), { timeoutMs: 10_000 }),
    ]);
    expect(list).toEqual([expect.objectContaining({ id: 'demo', lastCursor: 4 })]);
    expect(show.entries.map((e) => [e.cursor, e.role])).toEqual([[1, 'user'], [2, 'assistant'], [3, 'user'], [4, 'assistant']]);
    expect(missing.timedOut).toBe(false);
    expect(missing.code).toBe(1);

    expect((await runCli(sb, args('session', 'clear', 'demo'))).code).toBe(0);
    const next = await runCliJson<{ cursor: number; reply: string }>(sb, args('chat', '--session', 'demo', '--message', 'hello again', '--json'));
    expect(next.cursor).toBe(6);
    expect(next.reply).toContain('turn 1');
    expect((await runCli(sb, args('session', 'delete', 'demo'))).code).toBe(0);
    expect((await runCli(sb, args('session', 'show', 'demo'), { timeoutMs: 10_000 })).code).toBe(1);
  });

  it('4 concurrent chat processes on one session: 8 entries, each user message followed by its reply', async () => {
    const results = await Promise.all([0, 1, 2, 3].map((i) => runCli(sb, args('chat', '--session', 'same', '--message', `m${i}`, '--json'))));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const show = await runCliJson<{ entries: Array<{ cursor: number; role: string; content: string }> }>(sb, args('session', 'show', 'same', '--json'));
    expect(show.entries.map((e) => e.cursor)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let i = 0; i < 8; i += 2) expect(show.entries[i + 1]!.content).toContain(`you said "${show.entries[i]!.content}"`);
  });

  it('session.reset idle: a later process starts a new conversation from the stored activity time and says so once', async () => {
    const config = path.join(sb.cwd, 'reset.yaml');
    await fsp.writeFile(config, `store:\n  backend: postgres\n  url: \${DATABASE_URL}\n  schema: ${schema}\nsession:\n  reset: { mode: idle, idle_minutes: 60 }\n`);
    const chat = (m: string) => runCliJson<{ reply: string; cursor: number; notice?: string }>(sb, ['--config', config, 'chat', '--session', 'r', '--message', m, '--json']);
    expect(await chat('My name is Alice')).not.toHaveProperty('notice');
    const fresh = await chat("What's my name?");
    expect(fresh.reply).toContain('Your name is Alice');
    expect(fresh).not.toHaveProperty('notice');
    // Two hours of quiet, as the store records it (the processes come and go).
    await admin.query(`UPDATE ${schema}.sessions SET updated_at = updated_at - 2 * 3600 * 1000`);
    const back = await chat('hello again');
    expect(back.notice).toBe('Started a new conversation (idle 60 min).');
    expect(back.reply).toContain('turn 1');
    expect(back.reply).not.toContain('Alice');
    expect(back.cursor).toBe(6); // the cursor kept counting across the reset
    const next = await chat('and again');
    expect(next).not.toHaveProperty('notice');
    expect(next.reply).toContain('turn 2');
    // Plain output puts the notice on its own line before the reply.
    await admin.query(`UPDATE ${schema}.sessions SET updated_at = updated_at - 2 * 3600 * 1000`);
    const plain = await runCli(sb, ['--config', config, 'chat', '--session', 'r', '--message', 'hi']);
    expect(plain.stdout.split('\n')[0]).toBe('Started a new conversation (idle 60 min).');
  });

  it('session.reset daily: after the boundary (host local time, here TZ=UTC) passed since the last activity', async () => {
    const config = path.join(sb.cwd, 'daily.yaml');
    // A boundary 12 hours away from now: it passed ~12 h ago, long after a day-old activity and
    // long before a fresh one.
    const atHour = (new Date().getUTCHours() + 12) % 24;
    await fsp.writeFile(config, `store:\n  backend: postgres\n  url: \${DATABASE_URL}\n  schema: ${schema}\nsession:\n  reset: { mode: daily, at_hour: ${atHour} }\n`);
    const chat = (m: string) => runCliJson<{ reply: string; notice?: string }>(sb, ['--config', config, 'chat', '--session', 'd', '--message', m, '--json'], { env: { TZ: 'UTC' } });
    await chat('first');
    expect(await chat('same day')).not.toHaveProperty('notice');
    await admin.query(`UPDATE ${schema}.sessions SET updated_at = updated_at - 25 * 3600 * 1000`);
    const next = await chat('next day');
    expect(next.notice).toBe(`Started a new conversation (daily reset at ${String(atHour).padStart(2, '0')}:00).`);
    expect(next.reply).toContain('turn 1');
    expect(await chat('later that day')).not.toHaveProperty('notice');
  });

  it('bot start becomes ready on Postgres and stops cleanly on SIGTERM', async () => {
    const cli = startCli(sb, args('start'));
    await cli.waitForStderr(/Ctrl-C to stop\.\n/, { timeoutMs: 15_000 });
    expect(cli.stderr()).toContain('sessions in postgres');
    cli.proc.kill('SIGTERM');
    const done = await cli.exited(5_000);
    expect(done.code, done.stderr).toBe(0);
    expect((await admin.query(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`)).rows).toEqual([{ name: '001-initial.sql' }, { name: '002-import-session.sql' }, { name: '003-key-value.sql' }, { name: '004-retention-holds.sql' }]);
  });
});
