/**
 * `bot session fork | snapshot | revert | resume | export | import | rename | delete` as spawned
 * processes on the file store; turns of forked and reverted sessions use the echo model, whose
 * reply counts the user turns it saw, so it proves which history each turn was given (I4).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runCliJson, useSandbox } from '../helpers/run-cli.js';

interface Entry {
  cursor: number;
  role: string;
  content: string;
}
interface ShowJson {
  session: { id: string; messageCount: number; lastCursor: number; metadata: Record<string, unknown> };
  title: string | null;
  parent: { id: string; cursor: number } | null;
  children: string[];
  snapshots: Array<{ id: string; label: string; cursor: number; messageCount: number }>;
  tree: { id: string; children: Array<{ id: string }> };
  entries: Entry[];
}
interface Reply {
  session: string;
  reply: string;
  cursor: number;
}

const cli = useSandbox();
const chat = (id: string, text: string) => runCliJson<Reply>(cli.sb, ['chat', '--session', id, '--message', text, '--json']);
const show = (id: string) => runCliJson<ShowJson>(cli.sb, ['session', 'show', id, '--json']);
const texts = (s: ShowJson) => s.entries.filter((e) => e.role === 'user').map((e) => e.content);

describe('bot session: fork, snapshot, revert, resume', () => {
  it('a fork continues from the fork point; its turns see the inherited history, the parent is untouched', async () => {
    await chat('main', 'My name is Alice');
    await chat('main', 'I like tea');
    const fork = await runCliJson<{ id: string; parent: string; messageCount: number; cursor: number }>(cli.sb, [
      'session', 'fork', 'main', '--from-cursor', '2', '--as', 'alt', '--title', 'Coffee branch', '--json',
    ]);
    expect(fork).toEqual({ id: 'alt', parent: 'main', messageCount: 2, cursor: 2 });

    const turn = await runCliJson<Reply>(cli.sb, ['session', 'resume', 'alt', '--continue', "What's my name?", '--json']);
    expect(turn.reply).toMatch(/turn 2:/); // one inherited user turn + this one
    expect(turn.reply).toContain('Your name is Alice');
    expect(turn.cursor).toBe(4); // the fork's cursors continue after the fork point

    const [alt, main] = await Promise.all([show('alt'), show('main')]);
    expect(texts(alt)).toEqual(['My name is Alice', "What's my name?"]);
    expect(alt.entries.map((e) => e.cursor)).toEqual([1, 2, 3, 4]);
    expect(alt).toMatchObject({ title: 'Coffee branch', parent: { id: 'main', cursor: 2 } });
    expect(texts(main)).toEqual(['My name is Alice', 'I like tea']);
    expect(main.children).toEqual(['alt']);
    expect(main.tree).toMatchObject({ id: 'main', children: [{ id: 'alt' }] });

    const table = await runCli(cli.sb, ['session', 'show', 'alt']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^title\s+Coffee branch$/m);
    expect(table.stdout).toMatch(/^forked\s+from main at cursor 2$/m);
    expect(table.stdout).toMatch(/^\s+main — 4 messages$/m);
    expect(table.stdout).toMatch(/^\s+└─ alt "Coffee branch" — 4 messages, forked at cursor 2\s+◀ this session$/m);

    const list = await runCli(cli.sb, ['session', 'list']);
    expect(list.stdout).toMatch(/^SESSION\s+MESSAGES\s+CURSOR\s+LAST ACTIVITY\s+FORK OF\s+TITLE$/m);
    expect(list.stdout).toMatch(/^alt\s+4\s+4\s+\S+ \S+\s+main@2\s+Coffee branch$/m);
  });

  it('snapshot and revert: exact messages back, cursors never reused, bad requests are clear errors', async () => {
    await chat('s', 'one');
    await chat('s', 'two');
    const snap = await runCliJson<{ id: string; cursor: number; messageCount: number; label: string }>(cli.sb, ['session', 'snapshot', 's', '--label', 'after two', '--json']);
    expect(snap).toMatchObject({ cursor: 4, messageCount: 4, label: 'after two' });
    await chat('s', 'three');

    const reverted = await runCli(cli.sb, ['session', 'revert', 's', '--snapshot', snap.id]);
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(reverted.stdout).toMatch(/reverted s to snapshot .*: 4 messages; new messages continue after cursor 6/);
    expect(texts(await show('s'))).toEqual(['one', 'two']);
    const next = await chat('s', 'four');
    expect(next.reply).toMatch(/turn 3:/); // 'three' is out of the history the model sees
    expect(next.cursor).toBe(8);

    const toCursor = await runCliJson<{ messageCount: number }>(cli.sb, ['session', 'revert', 's', '--to-cursor', '2', '--json']);
    expect(toCursor.messageCount).toBe(2);
    expect(texts(await show('s'))).toEqual(['one']);

    const [neither, both, badSnap, badCursor, notNumber, missing] = await Promise.all([
      runCli(cli.sb, ['session', 'revert', 's']),
      runCli(cli.sb, ['session', 'revert', 's', '--snapshot', snap.id, '--to-cursor', '1']),
      runCli(cli.sb, ['session', 'revert', 's', '--snapshot', 'snapshot_nope']),
      runCli(cli.sb, ['session', 'revert', 's', '--to-cursor', '5']),
      runCli(cli.sb, ['session', 'revert', 's', '--to-cursor', 'abc']),
      runCli(cli.sb, ['session', 'snapshot', 'nope']),
    ]);
    expect([neither.code, both.code]).toEqual([2, 2]);
    expect(neither.stderr).toMatch(/exactly one of --snapshot <snapshotId> or --to-cursor <n>/);
    expect(badSnap.code).toBe(1);
    expect(badSnap.stderr).toMatch(/SNAPSHOT_NOT_FOUND.*has no snapshot "snapshot_nope"/);
    expect(badCursor.code).toBe(1);
    expect(badCursor.stderr).toMatch(/INVALID_CURSOR.*no message at cursor 5/);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toMatch(/--to-cursor must be a non-negative integer/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no session "nope"/);
    for (const r of [neither, both, badSnap, badCursor, notNumber, missing]) expect(r.all).not.toMatch(/unexpected error|\n\s+at /);
    expect(texts(await show('s'))).toEqual(['one']); // no failed command changed anything
  });

  it('forks and snapshots from concurrent processes all land (no lost metadata writes)', async () => {
    await chat('hub', 'hello');
    await runCli(cli.sb, ['session', 'rename', 'hub', 'Hub']);
    const runs = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => runCli(cli.sb, ['session', 'fork', 'hub', '--as', `f${i}`])),
      ...Array.from({ length: 3 }, (_, i) => runCli(cli.sb, ['session', 'snapshot', 'hub', '--label', `s${i}`])),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const hub = await show('hub');
    expect(hub.children).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(hub.snapshots.map((s) => s.label).sort()).toEqual(['s0', 's1', 's2']);
    expect(hub.title).toBe('Hub');
    expect(texts(await show('f3'))).toEqual(['hello']);
  });

  it('resume shows the history first, then chats interactively; an unknown session is an error', async () => {
    await chat('r', 'My name is Bob');
    const r = await runCli(cli.sb, ['session', 'resume', 'r'], { input: "What's my name?\n/exit\n" });
    expect(r.code, r.stderr).toBe(0);
    const historyAt = r.stdout.indexOf('#1 you › My name is Bob');
    const replyAt = r.stdout.indexOf('Your name is Bob');
    expect(r.stdout).toMatch(/── session r: 2 messages ──/);
    expect(historyAt).toBeGreaterThanOrEqual(0);
    expect(replyAt).toBeGreaterThan(historyAt);
    expect(r.stdout).toMatch(/turn 2:/);

    const limited = await runCli(cli.sb, ['session', 'resume', 'r', '--history', '1'], { input: '' });
    expect(limited.stdout).toMatch(/── session r: 4 messages, the last 1 ──/);
    expect(limited.stdout).not.toContain('#1 you');

    const plain = await runCli(cli.sb, ['session', 'resume', 'r', '--continue', 'again']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^\[echo\] turn 3:/); // only the reply, no history

    const [missing, missingContinue] = await Promise.all([
      runCli(cli.sb, ['session', 'resume', 'nobody'], { input: 'hi\n' }),
      runCli(cli.sb, ['session', 'resume', 'nobody', '--continue', 'hi']),
    ]);
    for (const m of [missing, missingContinue]) {
      expect(m.code).toBe(1);
      expect(m.stderr).toMatch(/no session "nobody"/);
      expect(m.all).not.toMatch(/TypeError|unexpected error/);
    }
    const list = await runCliJson<Array<{ id: string }>>(cli.sb, ['session', 'list', '--json']);
    expect(list.map((s) => s.id)).toEqual(['r']); // resuming a missing session creates nothing
  });
});

describe('bot session: retention', () => {
  it('a fork holds what it inherits: the parent trims the rest, the fork still reads it, show counts what is held', async () => {
    await fsp.writeFile(path.join(cli.sb.cwd, 'bots.yaml'), 'store:\n  max_messages: 4\n');
    await chat('p', 'My name is Alice');
    await chat('p', 'two');
    await runCliJson(cli.sb, ['session', 'fork', 'p', '--as', 'f', '--json']);
    await chat('p', 'three');
    await chat('p', 'four'); // p serves cursors 5..8; f inherits 1..4, which p now holds for it

    const [parent, fork] = await Promise.all([runCli(cli.sb, ['session', 'show', 'p']), runCliJson<{ entries: Array<{ cursor: number; content: string }> }>(cli.sb, ['session', 'show', 'f', '--json'])]);
    expect(parent.code, parent.stderr).toBe(0);
    expect(parent.stdout).toMatch(/^messages\s+4 kept, cursor 8; 4 older held for snapshots\/forks$/m);
    expect(fork.entries.map((e) => e.cursor)).toEqual([1, 2, 3, 4]);
    expect(fork.entries[0]!.content).toBe('My name is Alice');
    const turn = await runCli(cli.sb, ['session', 'resume', 'f', '--continue', 'hi']);
    expect(turn.code, turn.all).toBe(0);

    // Without the fork nothing is held any more.
    expect((await runCli(cli.sb, ['session', 'delete', 'f'])).code).toBe(0);
    const after = await runCli(cli.sb, ['session', 'show', 'p']);
    expect(after.stdout).toMatch(/^messages\s+4 kept, cursor 8$/m);
  });
});

describe('bot session: export, import, rename, delete', () => {
  it('export → import round trip (file and stdin), id conflicts are errors unless --as', async () => {
    await chat('e', 'alpha');
    await runCli(cli.sb, ['session', 'snapshot', 'e', '--label', 'first']);
    await chat('e', 'beta');
    await runCli(cli.sb, ['session', 'rename', 'e', 'Exported']);
    const file = path.join(cli.sb.cwd, 'e.json');

    const [toStdout, toFile] = await Promise.all([runCli(cli.sb, ['session', 'export', 'e']), runCli(cli.sb, ['session', 'export', 'e', '--out', file])]);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(toFile.stderr).toMatch(/exported e \(4 messages, 1 snapshots\) to/);
    const exported = JSON.parse(toStdout.stdout);
    expect(JSON.parse(await fsp.readFile(file, 'utf8'))).toMatchObject({ ...exported, exportedAt: expect.any(Number) });
    expect(exported).toMatchObject({ format: 'bothost-session', version: 1, session: { id: 'e', title: 'Exported' }, history: [[1, 4]] });

    const conflict = await runCli(cli.sb, ['session', 'import', file]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/SESSION_EXISTS.*--as <newId>/);

    const imported = await runCliJson<{ id: string; messageCount: number; lastCursor: number }>(cli.sb, ['session', 'import', file, '--as', 'copy', '--json']);
    expect(imported).toEqual({ id: 'copy', messageCount: 4, lastCursor: 4 });
    const viaStdin = await runCli(cli.sb, ['session', 'import', '--as', 'copy2'], { input: toStdout.stdout });
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect(viaStdin.stdout).toMatch(/imported copy2: 4 messages, cursor 4/);

    const [orig, copy, copy2] = await Promise.all([show('e'), show('copy'), show('copy2')]);
    const strip = (s: ShowJson) => s.entries.map(({ cursor, role, content }) => ({ cursor, role, content }));
    expect(strip(copy)).toEqual(strip(orig));
    expect(strip(copy2)).toEqual(strip(orig));
    expect(copy.title).toBe('Exported');
    expect(copy.snapshots.map((s) => s.label)).toEqual(['first']);
    await runCli(cli.sb, ['session', 'revert', 'copy', '--snapshot', copy.snapshots[0]!.id]);
    expect(texts(await show('copy'))).toEqual(['alpha']);
    const turn = await runCliJson<Reply>(cli.sb, ['session', 'resume', 'copy', '--continue', 'gamma', '--json']);
    expect(turn.reply).toMatch(/turn 2:.*the first was "alpha"/);
    expect(turn.cursor).toBe(6);

    await fsp.writeFile(path.join(cli.sb.cwd, 'bad.json'), '{"format":"bothost-session","version":7}');
    const [garbage, empty, wrongVersion, noFile] = await Promise.all([
      runCli(cli.sb, ['session', 'import', '-', '--as', 'x'], { input: 'not json' }),
      runCli(cli.sb, ['session', 'import', '--as', 'x'], { input: '' }),
      runCli(cli.sb, ['session', 'import', 'bad.json', '--as', 'x']),
      runCli(cli.sb, ['session', 'import', 'missing.json', '--as', 'x']),
    ]);
    expect(garbage.stderr).toMatch(/IMPORT_INVALID.*stdin is not JSON/);
    expect(empty.stderr).toMatch(/IMPORT_INVALID.*stdin is empty/);
    expect(wrongVersion.stderr).toMatch(/IMPORT_INVALID.*version 7 is not supported/);
    expect(noFile.stderr).toMatch(/IMPORT_INVALID.*cannot read missing\.json/);
    for (const r of [garbage, empty, wrongVersion, noFile]) expect(r.code).toBe(1);
    const ids = (await runCliJson<Array<{ id: string }>>(cli.sb, ['session', 'list', '--json'])).map((s) => s.id).sort();
    expect(ids).toEqual(['copy', 'copy2', 'e']);
  });

  it('delete refuses a session with forks unless --recursive; hostile ids get clear errors', async () => {
    await chat('p', 'hello');
    await runCliJson(cli.sb, ['session', 'fork', 'p', '--as', 'c', '--json']);
    await runCliJson(cli.sb, ['session', 'fork', 'c', '--as', 'g', '--json']);
    const refused = await runCli(cli.sb, ['session', 'delete', 'p']);
    expect(refused.code).toBe(1);
    // The hint is the command to run, naming the session.
    expect(refused.stderr).toMatch(/SESSION_HAS_CHILDREN.*"c".*delete them all with: bot session delete p --recursive\n$/);
    expect(texts(await show('g'))).toEqual(['hello']);
    const ok = await runCli(cli.sb, ['session', 'delete', 'p', '--recursive']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await runCliJson(cli.sb, ['session', 'list', '--json'])).toEqual([]);

    await chat('../../etc/passwd', 'sneaky');
    const [fork, tooLong, empty, showHostile] = await Promise.all([
      runCliJson<{ id: string }>(cli.sb, ['session', 'fork', '../../etc/passwd', '--as', '/tmp/../CON:x\ny', '--json']),
      runCli(cli.sb, ['session', 'fork', '../../etc/passwd', '--as', 'x'.repeat(1025)]),
      runCli(cli.sb, ['session', 'rename', '', 'title']),
      runCli(cli.sb, ['session', 'show', '../../etc/passwd']),
    ]);
    expect(fork.id).toBe('/tmp/../CON:x\ny');
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/INVALID_SESSION_ID.*1025 characters/);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/INVALID_SESSION_ID.*empty/);
    expect(showHostile.code).toBe(0);
    expect(showHostile.stdout).toMatch(/^session\s+"\.\.\/\.\.\/etc\/passwd"$/m);
    const files = await fsp.readdir(cli.sb.sessionsDir);
    expect(files.every((f) => !f.includes('/'))).toBe(true);
    expect(texts(await show('/tmp/../CON:x\ny'))).toEqual(['sneaky']);
  });
});
