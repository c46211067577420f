/** `bot session fork | snapshot | revert | rename | clear | delete | import`: changing sessions. */
import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { BotHostError } from '../core/errors.js';
import { ImportFormatError, SessionNotFoundError } from '../sessions/hierarchy/errors.js';
import { action, EXIT } from './context.js';
import { addStoreOption, cursorArg, out, printJson, showId, withSessions } from './session-shared.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  return text;
}

async function readImport(file: string | undefined): Promise<unknown> {
  let text: string;
  const from = file === undefined || file === '-' ? 'stdin' : file;
  try {
    text = from === 'stdin' ? await readAll(process.stdin) : await fsp.readFile(from, 'utf8');
  } catch (err) {
    throw new BotHostError('IMPORT_INVALID', `cannot read ${from}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') throw new ImportFormatError(`${from} is empty; give an export file (bot session export <id> --out file.json)`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ImportFormatError(`${from} is not JSON (${(err as Error).message})`);
  }
}

export function registerSessionEdit(session: Command): void {
  addStoreOption(
    session
      .command('fork <id>')
      .description('a new session that starts with this one\'s history (copy-on-write: instant at any length)')
      .option('--from-cursor <n>', 'the last message the fork inherits, by cursor (see: bot session show)', cursorArg('--from-cursor'))
      .option('--from-index <n>', 'the fork inherits the first n messages', cursorArg('--from-index'))
      .option('-t, --title <title>', 'title of the fork')
      .option('--as <newId>', 'id of the fork (default: fork_<random>)')
      .option('--json', 'print {id, parent, cursor} as JSON'),
  ).action(
    action(async (id: string, opts: { fromCursor?: number; fromIndex?: number; title?: string; as?: string; json?: boolean }, cmd: Command) =>
      withSessions(cmd, async (sessions) => {
        const fork = await sessions.forkSession(id, {
          ...(opts.fromCursor !== undefined ? { fromCursor: opts.fromCursor } : {}),
          ...(opts.fromIndex !== undefined ? { fromMessageIndex: opts.fromIndex } : {}),
          ...(opts.title !== undefined ? { title: opts.title } : {}),
          ...(opts.as !== undefined ? { id: opts.as } : {}),
        });
        const info = await sessions.getSession(fork);
        if (opts.json) printJson({ id: fork, parent: id, messageCount: info?.messageCount ?? 0, cursor: info?.lastCursor ?? 0 });
        else out(`forked ${showId(id)} → ${showId(fork)} (${info?.messageCount ?? 0} messages); continue it with: bot session resume ${showId(fork)}`);
      }),
    ),
  );

  addStoreOption(
    session
      .command('snapshot <id>')
      .description('remember this session\'s history now, to revert to later')
      .option('-l, --label <label>', 'a note to recognise the snapshot by', '')
      .option('--json', 'print {id, session, cursor, messageCount} as JSON'),
  ).action(
    action(async (id: string, opts: { label: string; json?: boolean }, cmd: Command) =>
      withSessions(cmd, async (sessions) => {
        const snap = await sessions.createSnapshot(id, opts.label);
        const summary = (await sessions.listSnapshots(id)).find((s) => s.id === snap)!;
        if (opts.json) printJson({ session: id, ...summary });
        else out(`snapshot ${snap} of ${showId(id)}: ${summary.messageCount} messages up to cursor ${summary.cursor}`);
      }),
    ),
  );

  addStoreOption(
    session
      .command('revert <id>')
      .description('set the history back to a snapshot (--snapshot) or to a message (--to-cursor); later messages are kept aside, not deleted')
      .option('-s, --snapshot <snapshotId>', 'revert to this snapshot')
      .option('--to-cursor <n>', 'keep the messages up to and including this cursor (0: none)', cursorArg('--to-cursor'))
      .option('--json', 'print the session as JSON afterwards'),
  ).action(
    action(async (id: string, opts: { snapshot?: string; toCursor?: number; json?: boolean }, cmd: Command) => {
      if ((opts.snapshot === undefined) === (opts.toCursor === undefined)) {
        process.stderr.write('give exactly one of --snapshot <snapshotId> or --to-cursor <n>\n');
        return EXIT.usage;
      }
      return withSessions(cmd, async (sessions) => {
        if (opts.snapshot !== undefined) await sessions.revertToSnapshot(id, opts.snapshot);
        else await sessions.revertToMessage(id, opts.toCursor!);
        const info = (await sessions.getSession(id))!;
        if (opts.json) printJson(info);
        else out(`reverted ${showId(id)} to ${opts.snapshot !== undefined ? `snapshot ${opts.snapshot}` : `cursor ${opts.toCursor}`}: ${info.messageCount} messages; new messages continue after cursor ${info.lastCursor}`);
        return EXIT.ok;
      });
    }),
  );

  addStoreOption(session.command('rename <id> <title>').description('set a session\'s title')).action(
    action(async (id: string, title: string, _opts: unknown, cmd: Command) =>
      withSessions(cmd, async (sessions) => {
        await sessions.rename(id, title);
        out(`renamed ${showId(id)}: "${title}"`);
      }),
    ),
  );

  addStoreOption(session.command('clear <id>').description('forget the messages of a session, keep the session (and its cursor, snapshots and forks)')).action(
    action(async (id: string, _opts: unknown, cmd: Command) => {
      const existed = await withSessions(cmd, (sessions) => sessions.clearSession(id));
      if (!existed) throw new SessionNotFoundError(id);
      out(`cleared ${showId(id)}`);
      return EXIT.ok;
    }),
  );

  addStoreOption(
    session
      .command('delete <id>')
      .description('delete a session and everything in it; a session with forks only with --recursive')
      .option('-r, --recursive', 'also delete its forks (and theirs)'),
  ).action(
    action(async (id: string, opts: { recursive?: boolean }, cmd: Command) => {
      const existed = await withSessions(cmd, (sessions) => sessions.deleteSession(id, { recursive: opts.recursive === true }));
      if (!existed) throw new SessionNotFoundError(id);
      out(`deleted ${showId(id)}`);
      return EXIT.ok;
    }),
  );

}

export function registerSessionImport(session: Command): void {
  addStoreOption(
    session
      .command('import [file]')
      .description('recreate a session from `bot session export` JSON (a file, or stdin when absent or "-")')
      .option('--as <newId>', 'import under this id (an existing id is an error, never overwritten)')
      .option('--json', 'print {id, messageCount, lastCursor} as JSON'),
  ).action(
    action(async (file: string | undefined, opts: { as?: string; json?: boolean }, cmd: Command) => {
      const data = await readImport(file);
      return withSessions(cmd, async (sessions) => {
        const id = await sessions.importSession(data, opts.as !== undefined ? { id: opts.as } : {});
        const info = await sessions.getSession(id);
        if (!info) throw new SessionNotFoundError(id);
        if (opts.json) printJson({ id, messageCount: info.messageCount, lastCursor: info.lastCursor });
        else out(`imported ${showId(id)}: ${info.messageCount} messages, cursor ${info.lastCursor}`);
        return EXIT.ok;
      });
    }),
  );
}
