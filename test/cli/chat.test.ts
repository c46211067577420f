/**
 * `bot chat` as a user runs it: one turn per process with `--message`, resumed by the next
 * process; the interactive loop over a piped stdin; several processes on one session at once.
 * All with the offline echo model (no endpoint configured).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, killAllCli, makeSandbox, runCli, runCliJson, startCli, type Sandbox } from '../helpers/run-cli.js';

interface ChatJson {
  session: string;
  kind: string;
  reply: string;
  cursor?: number;
}

interface ShowJson {
  session: { id: string; messageCount: number; lastCursor: number };
  entries: Array<{ cursor: number; role: string; content: string; ts: number }>;
}

let sandboxes: Sandbox[] = [];
async function sandbox(): Promise<Sandbox> {
  const s = await makeSandbox();
  sandboxes.push(s);
  return s;
}

beforeAll(() => assertBuilt());
afterEach(async () => {
  killAllCli();
  await Promise.all(sandboxes.splice(0).map((s) => s.cleanup()));
});
afterAll(() => killAllCli());

describe('bot chat --message: the session survives the process', () => {
  it('remembers the name told in an earlier process', async () => {
    const sb = await sandbox();
    const first = await runCli(sb, ['chat', '--session', 'demo', '--message', 'My name is Alice']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('turn 1');
    expect(first.stdout).not.toContain('Your name is');

    const second = await runCli(sb, ['chat', '--session', 'demo', '--message', "What's my name?"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('turn 2');
    expect(second.stdout).toContain('Your name is Alice');
    expect(second.stdout).toContain('the first was "My name is Alice"');
    // Nothing but the reply on stdout; nothing alarming on stderr.
    expect(second.stdout.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).not.toMatch(/error|warn/i);
  });

  it('--json prints {session, reply, cursor}; cursors are 2 then 4', async () => {
    const sb = await sandbox();
    const a = await runCliJson<ChatJson>(sb, ['chat', '--session', 'demo', '--message', 'My name is Alice', '--json']);
    expect(a).toMatchObject({ session: 'demo', kind: 'reply', cursor: 2 });
    expect(a.reply).toContain('turn 1');
    const b = await runCliJson<ChatJson>(sb, ['chat', '--session', 'demo', '--message', "What's my name?", '--json']);
    expect(b).toMatchObject({ session: 'demo', kind: 'reply', cursor: 4 });
    expect(b.reply).toContain('turn 2');
    expect(b.reply).toContain('Your name is Alice');
  });

  it('without --session uses one stable default session, whose history grows', async () => {
    const sb = await sandbox();
    const a = await runCliJson<ChatJson>(sb, ['chat', '--message', 'first', '--json']);
    const b = await runCliJson<ChatJson>(sb, ['chat', '--message', 'second', '--json']);
    expect(a.session).toMatch(/^bot_console_./);
    expect(b.session).toBe(a.session);
    expect(a.cursor).toBe(2);
    expect(b.cursor).toBe(4);
    expect(b.reply).toContain('turn 2');
    expect(b.reply).toContain('the first was "first"');

    const show = await runCliJson<ShowJson>(sb, ['session', 'show', a.session, '--json']);
    expect(show.entries.map((e) => e.content).filter((_, i) => i % 2 === 0)).toEqual(['first', 'second']);
  });
});

describe('interactive bot chat over a piped stdin', () => {
  it('answers lines, understands /status and /new, and exits 0 on /exit', async () => {
    const sb = await sandbox();
    const cli = startCli(sb, ['chat', '--session', 'inter']);
    await cli.waitForStdout(/Chatting with .* in session "inter"/);

    let mark = cli.stdout().length;
    cli.write('My name is Bob\n');
    await cli.waitForStdout(/\[echo\] turn 1: you said "My name is Bob"\n/, { from: mark });

    mark = cli.stdout().length;
    cli.write('/status\n');
    const status = await cli.waitForStdout(/Session: (\S+)\nMessages kept: (\d+)\n/, { from: mark });
    expect(status[1]).toBe('inter');
    expect(status[2]).toBe('2');

    mark = cli.stdout().length;
    cli.write('/help\n');
    const help = await cli.waitForStdout(/Commands:\n(?:\/\w+ — [^\n]*\n)+/, { from: mark });
    expect(help[0]).toMatch(/^\/status — /m);
    expect(help[0]).toMatch(/^\/exit — leave the chat/m);

    mark = cli.stdout().length;
    cli.write('/new\n');
    await cli.waitForStdout(/Started a new conversation/, { from: mark });

    mark = cli.stdout().length;
    cli.write("What's my name?\n");
    const reply = await cli.waitForStdout(/\[echo\] turn (\d+): you said "What's my name\?"[^\n]*\n/, { from: mark });
    expect(reply[1]).toBe('1'); // memory was reset by /new
    expect(reply[0]).not.toContain('Bob');

    cli.write('/exit\n');
    const done = await cli.exited();
    expect(done.code, done.stderr).toBe(0);
    expect(done.timedOut).toBe(false);

    // The session on disk holds only the turn after /new.
    const show = await runCliJson<ShowJson>(sb, ['session', 'show', 'inter', '--json']);
    expect(show.entries.map((e) => e.role)).toEqual(['user', 'assistant']);
    expect(show.entries[0]!.content).toBe("What's my name?");
    expect(show.session.lastCursor).toBe(4);
  });

  it('exits 0 at end of input (Ctrl-D) after answering every line', async () => {
    const sb = await sandbox();
    const r = await runCli(sb, ['chat', '--session', 'eof'], { input: 'My name is Eve\nsecond\nWhat is my name?\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('turn 1: you said "My name is Eve"');
    expect(r.stdout).toContain('turn 2: you said "second"');
    expect(r.stdout).toMatch(/turn 3: you said "What is my name\?".*Your name is Eve\./);
  });
});

describe('several processes on one session', () => {
  it('4 concurrent chat processes: 8 entries, each user message once and followed by its reply', async () => {
    const sb = await sandbox();
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => runCli(sb, ['chat', '--session', 'same', '--message', `m${i}`, '--json'])),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const cursors = results.map((r) => (JSON.parse(r.stdout) as ChatJson).cursor).sort((a, b) => a! - b!);
    expect(cursors).toEqual([2, 4, 6, 8]);

    const show = await runCliJson<ShowJson>(sb, ['session', 'show', 'same', '--json']);
    expect(show.entries).toHaveLength(8);
    expect(show.session.messageCount).toBe(8);
    expect(show.entries.map((e) => e.cursor)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const users = show.entries.filter((e) => e.role === 'user').map((e) => e.content);
    expect([...users].sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    for (let i = 0; i < 8; i += 2) {
      const user = show.entries[i]!;
      const assistant = show.entries[i + 1]!;
      expect(user.role).toBe('user');
      expect(assistant.role).toBe('assistant');
      expect(assistant.content).toContain(`you said "${user.content}"`);
    }
  });
});
