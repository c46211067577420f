/** Help, usage errors and hostile input: exit codes and messages a user can act on. */
import { execFile, spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_ENTRY, listTree, runCli, runCliJson, useSandbox } from '../helpers/run-cli.js';

const cli = useSandbox();

describe('the bin', () => {
  it('runs as its own executable, as `npx bot` runs it (the build sets the executable bit)', async () => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(CLI_ENTRY, ['--help'], (err, out) => (err ? reject(err) : resolve(out))),
    );
    expect(stdout).toMatch(/^Usage: bot /);
  });

  it('a reader that goes away early (`bot --help | head -0`) ends the output quietly, exit 0', async () => {
    const child = spawn(process.execPath, [CLI_ENTRY, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the pipe's reader is gone before bot writes its first line
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('a chat turn that fails still exits 1 when its reader has gone away', async () => {
    // A model nobody listens on: the turn fails after its retries.
    await fsp.writeFile(path.join(cli.sb.cwd, 'bots.yaml'), 'agents:\n  assistant:\n    model: gpt-x\n    base_url: http://127.0.0.1:9/v1\n');
    const child = spawn(process.execPath, [CLI_ENTRY, 'chat', '--message', 'hi'], { cwd: cli.sb.cwd, env: { PATH: process.env.PATH, HOME: cli.sb.home }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toMatch(/cannot reach the model endpoint/);
    expect(stderr).not.toMatch(/EPIPE/);
    expect(code).toBe(1);
  });
});

describe('--help', () => {
  it('for the program and every command: exit 0 and useful text on stdout', async () => {
    const [program, chat, session, sessionShow, config, start, helpChat] = await Promise.all([
      runCli(cli.sb, ['--help']),
      runCli(cli.sb, ['chat', '--help']),
      runCli(cli.sb, ['session', '--help']),
      runCli(cli.sb, ['session', 'show', '--help']),
      runCli(cli.sb, ['config', '--help']),
      runCli(cli.sb, ['start', '--help']),
      runCli(cli.sb, ['help', 'chat']),
    ]);
    for (const r of [program, chat, session, sessionShow, config, start, helpChat]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: bot /);
    }
    for (const c of ['start', 'chat', 'session', 'config']) expect(program.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    expect(program.stdout).toContain('--config <file>');
    expect(program.stdout).toContain('bot chat --session demo --message "My name is Alice"');

    for (const o of ['--session <id>', '--message <text>', '--agent <name>', '--json']) expect(chat.stdout).toContain(o);
    expect(chat.stdout).toMatch(/Examples:/);
    expect(helpChat.stdout).toBe(chat.stdout);

    for (const c of ['list', 'show', 'clear', 'delete']) expect(session.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    expect(sessionShow.stdout).toContain('--limit <n>');
    expect(sessionShow.stdout).toContain('--json');
    for (const c of ['check', 'schema']) expect(config.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    expect(start.stdout).toMatch(/Usage: bot start/);
    expect(start.stdout).toMatch(/bots\.yaml/);
  });
});

describe('usage errors exit 2 with a clear message', () => {
  it('unknown command, unknown option, missing option value', async () => {
    const [cmd, typo, option, value] = await Promise.all([
      runCli(cli.sb, ['frobnicate']),
      runCli(cli.sb, ['chatt']),
      runCli(cli.sb, ['chat', '--bogus']),
      runCli(cli.sb, ['chat', '--session']),
    ]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'chatt'/);
    expect(typo.stderr).toMatch(/Did you mean chat\?/);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/unknown option '--bogus'/);
    expect(value.code).toBe(2);
    expect(value.stderr).toMatch(/option '-s, --session <id>' argument missing/);
    for (const r of [cmd, typo, option, value]) {
      expect(r.stderr).toMatch(/--help/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('an unknown agent lists the choices', async () => {
    const r = await runCli(cli.sb, ['chat', '--agent', 'nope', '--message', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown agent "nope"; choose one of: assistant/);
    expect(r.stdout).toBe('');
    expect(await listTree(cli.sb.sessionsDir)).toEqual([]); // nothing was written
  });

  it('a session id over 1024 characters is refused clearly, before anything is written', async () => {
    const r = await runCli(cli.sb, ['chat', '--session', 'x'.repeat(2000), '--message', 'hi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid session id: it is 2000 characters long; the limit is 1024/);
    expect(r.stdout).toBe('');
    expect(await listTree(cli.sb.sessionsDir)).toEqual([]);
  });
});

describe('hostile session ids stay inside the store', () => {
  it('--session ../../etc/passwd works and creates nothing outside HOME/.bothost/sessions', async () => {
    const id = '../../etc/passwd';
    const etcBefore = await fsp.stat('/etc/passwd').catch(() => undefined);
    const first = await runCli(cli.sb, ['chat', '--session', id, '--message', 'My name is Mallory']);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCliJson<{ session: string; reply: string; cursor: number }>(cli.sb, ['chat', '--session', id, '--message', "What's my name?", '--json']);
    expect(second).toMatchObject({ session: id, cursor: 4 });
    expect(second.reply).toContain('Your name is Mallory');

    // The sandbox holds exactly one new file, flat inside HOME/.bothost/sessions.
    const files = await listTree(cli.sb.sessionsDir);
    expect(files).toHaveLength(1);
    const file = files[0]!;
    expect(file).not.toContain(path.sep);
    expect(file).not.toMatch(/^\.\.?$/);
    expect((await fsp.stat(path.join(cli.sb.sessionsDir, file))).isFile()).toBe(true);
    const sessionsRel = path.relative(cli.sb.root, cli.sb.sessionsDir);
    expect(await listTree(cli.sb.root)).toEqual(
      ['cwd', 'home', path.join('home', '.bothost'), sessionsRel, path.join(sessionsRel, file)].sort(),
    );
    // Nothing where the id would point if it were used as a path, and the real file is untouched.
    for (const base of [cli.sb.sessionsDir, path.dirname(cli.sb.sessionsDir)]) expect(existsSync(path.resolve(base, id))).toBe(false);
    const etcAfter = await fsp.stat('/etc/passwd').catch(() => undefined);
    expect(etcAfter?.mtimeMs).toBe(etcBefore?.mtimeMs);
    expect(etcAfter?.size).toBe(etcBefore?.size);

    // The store reports the id as given.
    const [list, show] = await Promise.all([
      runCliJson<Array<{ id: string }>>(cli.sb, ['session', 'list', '--json']),
      runCliJson<{ session: { id: string }; entries: unknown[] }>(cli.sb, ['session', 'show', id, '--json']),
    ]);
    expect(list.map((s) => s.id)).toEqual([id]);
    expect(show.entries).toHaveLength(4);
  });

  it('ids that differ only in case or punctuation are different sessions', async () => {
    const ids = ['a.b', 'a_b', 'A_b', '/etc'];
    const replies = await Promise.all(ids.map((id) => runCliJson<{ session: string; cursor: number }>(cli.sb, ['chat', '--session', id, '--message', id, '--json'])));
    expect(replies.map((r) => r.session)).toEqual(ids);
    expect(replies.map((r) => r.cursor)).toEqual([2, 2, 2, 2]);
    expect(await listTree(cli.sb.sessionsDir)).toHaveLength(4);
  });
});
