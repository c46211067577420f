/** `bot session list | show | clear | delete` against sessions written by real `bot chat` processes. */
import { describe, expect, it } from 'vitest';
import { runCli, runCliJson, useSandbox } from '../helpers/run-cli.js';

interface SessionInfoJson {
  id: string;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
  lastCursor: number;
  metadata: Record<string, unknown>;
}
interface ShowJson {
  session: SessionInfoJson;
  entries: Array<{ cursor: number; role: string; content: string; ts: number }>;
}

const cli = useSandbox();

/** demo: two turns (4 messages), other: one turn, written by separate chat processes. */
async function seed(): Promise<number> {
  const before = Date.now();
  const chat = (session: string, message: string) => runCliJson(cli.sb, ['chat', '--session', session, '--message', message, '--json']);
  await Promise.all([chat('demo', 'My name is Alice'), chat('other', 'hello')]);
  await chat('demo', "What's my name?");
  return before;
}

describe('bot session', () => {
  it('list on an empty store says how to start, and --json is []', async () => {
    const [table, json] = await Promise.all([runCli(cli.sb, ['session', 'list']), runCli(cli.sb, ['session', 'list', '--json'])]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/no sessions yet/);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('list, show (table and --json), clear, delete, and what each leaves behind', async () => {
    const before = await seed();
    const after = Date.now();

    // list: a table, newest activity first, and the same as JSON.
    const [table, list, listLimited, show, showJson, limited] = await Promise.all([
      runCli(cli.sb, ['session', 'list']),
      runCliJson<SessionInfoJson[]>(cli.sb, ['session', 'list', '--json']),
      runCliJson<SessionInfoJson[]>(cli.sb, ['session', 'list', '--json', '--limit', '1']),
      runCli(cli.sb, ['session', 'show', 'demo']),
      runCliJson<ShowJson>(cli.sb, ['session', 'show', 'demo', '--json']),
      runCliJson<ShowJson>(cli.sb, ['session', 'show', 'demo', '--json', '--limit', '2']),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^SESSION\s+MESSAGES\s+CURSOR\s+LAST ACTIVITY$/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^demo\s+4\s+4\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(rows[2]).toMatch(/^other\s+2\s+2\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);

    expect(list.map((s) => s.id)).toEqual(['demo', 'other']);
    expect(list[0]).toMatchObject({ id: 'demo', messageCount: 4, lastCursor: 4 });
    expect(list[1]).toMatchObject({ id: 'other', messageCount: 2, lastCursor: 2 });
    for (const s of list) {
      expect(s.createdAt).toBeGreaterThanOrEqual(before - 1000);
      expect(s.updatedAt).toBeLessThanOrEqual(after + 1000);
      expect(s.updatedAt).toBeGreaterThanOrEqual(s.createdAt);
    }
    expect(listLimited.map((s) => s.id)).toEqual(['demo']);

    // show: header, then #1..#4 with timestamps and roles.
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^session\s+demo$/m);
    expect(show.stdout).toMatch(/^messages\s+4 kept, cursor 4$/m);
    const ts = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`;
    expect(show.stdout).toMatch(new RegExp(`^#1\\s+${ts}\\s+user\\s+My name is Alice$`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^#2\\s+${ts}\\s+assistant\\s+\\[echo\\] turn 1`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^#3\\s+${ts}\\s+user\\s+What's my name\\?$`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^#4\\s+${ts}\\s+assistant\\s+\\[echo\\] turn 2.*Your name is Alice`, 'm'));
    expect(show.stdout.indexOf('#1')).toBeLessThan(show.stdout.indexOf('#4'));

    expect(showJson.session).toMatchObject({ id: 'demo', messageCount: 4, lastCursor: 4 });
    expect(showJson.entries.map((e) => [e.cursor, e.role])).toEqual([
      [1, 'user'],
      [2, 'assistant'],
      [3, 'user'],
      [4, 'assistant'],
    ]);
    expect(showJson.entries.map((e) => e.content)).toContain('My name is Alice');
    for (const e of showJson.entries) {
      expect(e.ts).toBeGreaterThanOrEqual(before - 1000);
      expect(e.ts).toBeLessThanOrEqual(after + 1000);
    }
    expect(limited.entries.map((e) => e.cursor)).toEqual([3, 4]);

    // clear: messages gone, session and cursor kept; the next turn continues the cursor.
    const clear = await runCli(cli.sb, ['session', 'clear', 'demo']);
    expect(clear.code, clear.stderr).toBe(0);
    expect(clear.stdout).toMatch(/cleared demo/);
    const [afterClear, afterClearJson] = await Promise.all([
      runCli(cli.sb, ['session', 'show', 'demo']),
      runCliJson<ShowJson>(cli.sb, ['session', 'show', 'demo', '--json']),
    ]);
    expect(afterClear.code).toBe(0);
    expect(afterClear.stdout).toContain('(no messages)');
    expect(afterClear.stdout).not.toMatch(/^#\d/m);
    expect(afterClearJson.entries).toEqual([]);
    expect(afterClearJson.session).toMatchObject({ messageCount: 0, lastCursor: 4 });

    const next = await runCliJson<{ cursor: number; reply: string }>(cli.sb, ['chat', '--session', 'demo', '--message', "What's my name?", '--json']);
    expect(next.cursor).toBe(6);
    expect(next.reply).toContain('turn 1'); // the cleared messages are forgotten
    expect(next.reply).not.toContain('Alice');
    const afterNext = await runCliJson<ShowJson>(cli.sb, ['session', 'show', 'demo', '--json']);
    expect(afterNext.entries.map((e) => e.cursor)).toEqual([5, 6]);

    // delete: gone for good; other sessions untouched.
    const del = await runCli(cli.sb, ['session', 'delete', 'demo']);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toMatch(/deleted demo/);
    const [gone, listAfter] = await Promise.all([
      runCli(cli.sb, ['session', 'show', 'demo']),
      runCliJson<SessionInfoJson[]>(cli.sb, ['session', 'list', '--json']),
    ]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('error (SESSION_NOT_FOUND): no session "demo"; see: bot session list\n');
    expect(gone.stdout).toBe('');
    expect(listAfter.map((s) => s.id)).toEqual(['other']);
  });

  it('an unknown session: show, clear and delete exit 1 with a message', async () => {
    const [show, showJson, clear, del] = await Promise.all([
      runCli(cli.sb, ['session', 'show', 'nope']),
      runCli(cli.sb, ['session', 'show', 'nope', '--json']),
      runCli(cli.sb, ['session', 'clear', 'nope']),
      runCli(cli.sb, ['session', 'delete', 'nope']),
    ]);
    for (const r of [show, showJson, clear, del]) {
      expect(r.code).toBe(1);
      // The same `error (CODE): …` form as every other command's errors.
      expect(r.stderr).toBe('error (SESSION_NOT_FOUND): no session "nope"; see: bot session list\n');
      expect(r.all).not.toMatch(/unexpected error|\n\s+at /);
    }
    expect(showJson.stdout).toBe(''); // no half JSON on stdout
  });

  it('show without an id is a usage error (exit 2)', async () => {
    const r = await runCli(cli.sb, ['session', 'show']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument 'id'/);
  });
});
