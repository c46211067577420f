/** `bot session …`: list, show, clear and delete stored sessions. */
import type { Command } from 'commander';
import type { SessionEntry, SessionInfo, SessionLog } from '../core/session-store.js';
import { createStore } from '../host/create-store.js';
import { action, commandLogger, EXIT, loadForCommand, type GlobalOptions } from './context.js';
import { registerSessionMigrate } from './session-migrate-command.js';

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** Runs `fn` with the configured store and always closes it: an open Redis client keeps the process alive. */
async function withStore<T>(cmd: Command, fn: (store: SessionLog) => Promise<T>): Promise<T> {
  const loaded = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  const logger = commandLogger();
  const store = await createStore(loaded.config.store, { warn: (m) => logger.warn(m) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function printList(sessions: SessionInfo[]): void {
  if (sessions.length === 0) {
    process.stdout.write('no sessions yet — start one with: bot chat --session demo --message "hello"\n');
    return;
  }
  const rows = sessions.map((s) => [s.id, String(s.messageCount), String(s.lastCursor), time(s.updatedAt)]);
  const head = ['SESSION', 'MESSAGES', 'CURSOR', 'LAST ACTIVITY'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

function printSession(info: SessionInfo, entries: SessionEntry[]): void {
  const out = [
    `session   ${info.id}`,
    `created   ${time(info.createdAt)}`,
    `updated   ${time(info.updatedAt)}`,
    `messages  ${info.messageCount} kept, cursor ${info.lastCursor}`,
  ];
  if (Object.keys(info.metadata).length) out.push(`metadata  ${JSON.stringify(info.metadata)}`);
  out.push('');
  for (const e of entries) {
    const body = e.content.replace(/\n/g, '\n' + ' '.repeat(32));
    out.push(`#${String(e.cursor).padEnd(5)} ${time(e.ts)}  ${e.role.padEnd(9)} ${body}`);
  }
  if (entries.length === 0) out.push('(no messages)');
  process.stdout.write(`${out.join('\n')}\n`);
}

export function registerSession(program: Command): void {
  const session = program.command('session').description('inspect and manage stored sessions');
  registerSessionMigrate(session);

  session
    .command('list')
    .description('sessions, most recently active first')
    .option('-n, --limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { limit: number; json?: boolean }, cmd: Command) => {
        const sessions = await withStore(cmd, (store) => store.listSessions({ limit: opts.limit }));
        if (opts.json) process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`);
        else printList(sessions);
      }),
    );

  session
    .command('show <id>')
    .description('one session: metadata and messages with cursors and timestamps')
    .option('-n, --limit <n>', 'only the newest n messages', (v) => Number.parseInt(v, 10))
    .option('--json', 'machine-readable output')
    .action(
      action(async (id: string, opts: { limit?: number; json?: boolean }, cmd: Command) =>
        withStore(cmd, async (store) => {
          const info = await store.getSession(id);
          if (!info) {
            process.stderr.write(`no session "${id}"; see: bot session list\n`);
            return EXIT.failure;
          }
          let entries = await store.getEntries(id);
          if (opts.limit !== undefined) entries = entries.slice(-opts.limit);
          if (opts.json) process.stdout.write(`${JSON.stringify({ session: info, entries }, null, 2)}\n`);
          else printSession(info, entries);
          return EXIT.ok;
        }),
      ),
    );

  session
    .command('clear <id>')
    .description('forget the messages of a session, keep the session (and its cursor)')
    .action(
      action(async (id: string, _opts: unknown, cmd: Command) => {
        const existed = await withStore(cmd, (store) => store.clearSession(id));
        process.stdout.write(existed ? `cleared ${id}\n` : `no session "${id}"\n`);
        return existed ? EXIT.ok : EXIT.failure;
      }),
    );

  session
    .command('delete <id>')
    .description('delete a session and everything in it')
    .action(
      action(async (id: string, _opts: unknown, cmd: Command) => {
        const existed = await withStore(cmd, (store) => store.deleteSession(id));
        process.stdout.write(existed ? `deleted ${id}\n` : `no session "${id}"\n`);
        return existed ? EXIT.ok : EXIT.failure;
      }),
    );
}
