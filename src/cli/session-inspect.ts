/** `bot session list | show | export`: reading sessions, their tree and snapshots. */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { StoreError } from '../core/errors.js';
import type { SessionEntry, SessionInfo } from '../core/session-store.js';
import { HistoryUnavailableError, SessionNotFoundError } from '../sessions/hierarchy/errors.js';
import type { HierarchicalSessionStore, SessionNode, SnapshotSummary } from '../sessions/hierarchy/hierarchical-session-store.js';
import { readHierarchy, userMetadata } from '../sessions/hierarchy/hierarchy-metadata.js';
import { action, EXIT } from './context.js';
import { addStoreOption, out, printJson, showId, time, withSessions } from './session-shared.js';

function printList(sessions: SessionInfo[]): void {
  if (sessions.length === 0) {
    out('no sessions yet — start one with: bot chat --session demo --message "hello"');
    return;
  }
  const hier = sessions.map((s) => readHierarchy(s.id, s.metadata));
  const withTitle = hier.some((h) => h.title !== undefined);
  const withParent = hier.some((h) => h.parent !== undefined);
  const head = ['SESSION', 'MESSAGES', 'CURSOR', 'LAST ACTIVITY', ...(withParent ? ['FORK OF'] : []), ...(withTitle ? ['TITLE'] : [])];
  const rows = sessions.map((s, i) => [
    showId(s.id),
    String(s.messageCount),
    String(s.lastCursor),
    time(s.updatedAt),
    ...(withParent ? [hier[i]!.parent ? `${showId(hier[i]!.parent!.id)}@${hier[i]!.parent!.cursor}` : '-'] : []),
    ...(withTitle ? [hier[i]!.title ?? ''] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

/** The family tree around `id`, from its oldest ancestor; `id` is marked. */
async function familyTree(sessions: HierarchicalSessionStore, id: string): Promise<SessionNode> {
  let root = id;
  const seen = new Set([id]);
  for (let parent = await sessions.getParent(id); parent !== null && !seen.has(parent); ) {
    seen.add(parent);
    if (!(await sessions.sessionExists(parent))) break;
    root = parent;
    parent = await sessions.getParent(parent);
  }
  return sessions.getSessionTree(root);
}

function treeLines(node: SessionNode, current: string, prefix = '', last = true, top = true): string[] {
  const label = `${showId(node.id)}${node.title ? ` "${node.title}"` : ''} — ${node.messageCount} messages${node.forkedAtCursor !== undefined ? `, forked at cursor ${node.forkedAtCursor}` : ''}${node.snapshots ? `, ${node.snapshots} snapshot(s)` : ''}${node.id === current ? '   ◀ this session' : ''}`;
  const lines = [`${top ? '' : prefix + (last ? '└─ ' : '├─ ')}${label}`];
  const childPrefix = top ? '' : prefix + (last ? '   ' : '│  ');
  node.children.forEach((c, i) => lines.push(...treeLines(c, current, childPrefix, i === node.children.length - 1, false)));
  return lines;
}

function printSession(info: SessionInfo, entries: SessionEntry[], tree: SessionNode, snapshots: SnapshotSummary[], unreadable?: Error): void {
  const h = readHierarchy(info.id, info.metadata);
  const field = (name: string, value: string) => `${name.padEnd(14)}${value}`;
  const lines = [field('session', showId(info.id))];
  if (h.title !== undefined) lines.push(field('title', h.title));
  lines.push(field('created', time(info.createdAt)), field('last activity', time(info.updatedAt)), field('messages', `${info.messageCount} kept, cursor ${info.lastCursor}${info.heldCount ? `; ${info.heldCount} older held for snapshots/forks` : ''}`));
  if (h.parent) lines.push(field('forked', `from ${showId(h.parent.id)} at cursor ${h.parent.cursor}`));
  const meta = userMetadata(info.metadata);
  if (Object.keys(meta).length) lines.push(field('metadata', JSON.stringify(meta)));
  if (tree.children.length > 0 || h.parent) lines.push('', 'tree', ...treeLines(tree, info.id).map((l) => `  ${l}`));
  if (snapshots.length > 0) {
    lines.push('', 'snapshots');
    for (const s of snapshots) lines.push(`  ${s.id}  ${time(s.createdAt)}  ${s.messageCount} messages up to cursor ${s.cursor}${s.label ? `  "${s.label}"` : ''}`);
  }
  lines.push('');
  for (const e of entries) {
    const body = e.content.replace(/\n/g, '\n' + ' '.repeat(32));
    lines.push(`#${String(e.cursor).padEnd(5)} ${time(e.ts)}  ${e.role.padEnd(9)} ${body}`);
  }
  if (unreadable) lines.push('(the messages cannot be shown: see the error below)');
  else if (entries.length === 0) lines.push('(no messages)');
  out(lines.join('\n'));
}

/** Write `text` to `file` atomically (temp in the same directory, then rename). */
async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, text, { mode: 0o600 });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw new StoreError(`could not write ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function registerSessionInspect(session: Command): void {
  addStoreOption(
    session
      .command('list')
      .description('sessions, most recently active first')
      .option('-n, --limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (opts: { limit: number; json?: boolean }, cmd: Command) => {
      const sessions = await withSessions(cmd, (s) => s.listSessions({ limit: opts.limit }));
      if (opts.json) printJson(sessions);
      else printList(sessions);
    }),
  );

  addStoreOption(
    session
      .command('show <id>')
      .description('one session: title, fork tree, snapshots, message count, last activity, and its messages with cursors')
      .option('-n, --limit <n>', 'only the newest n messages', (v) => Number.parseInt(v, 10))
      .option('--json', 'machine-readable output'),
  ).action(
    action(async (id: string, opts: { limit?: number; json?: boolean }, cmd: Command) =>
      withSessions(cmd, async (sessions) => {
        const info = await sessions.getSession(id);
        if (!info) throw new SessionNotFoundError(id);
        // A history that cannot be read still shows its session, tree and snapshots (to decide
        // what to revert to), then the error.
        const [read, tree, snapshots] = await Promise.all([
          sessions.getEntries(id).then(
            (all) => ({ all, error: undefined }),
            (error: unknown) => {
              if (error instanceof HistoryUnavailableError) return { all: [] as SessionEntry[], error };
              throw error;
            },
          ),
          familyTree(sessions, id),
          sessions.listSnapshots(id),
        ]);
        const entries = opts.limit !== undefined ? read.all.slice(-opts.limit) : read.all;
        if (opts.json) {
          const h = readHierarchy(id, info.metadata);
          printJson({
            session: info,
            title: h.title ?? null,
            parent: h.parent ? { id: h.parent.id, cursor: h.parent.cursor } : null,
            children: h.children,
            snapshots,
            tree,
            entries: read.error ? null : entries,
            ...(read.error ? { error: { code: read.error.code, message: read.error.message } } : {}),
          });
        } else {
          printSession(info, entries, tree, snapshots, read.error);
          if (read.error) process.stderr.write(`error (${read.error.code}): ${read.error.message}\n`);
        }
        return read.error ? EXIT.failure : EXIT.ok;
      }),
    ),
  );

}

export function registerSessionExport(session: Command): void {
  addStoreOption(
    session
      .command('export <id>')
      .description('the session as JSON (history, snapshots, title, metadata): to stdout, or a file with --out')
      .option('-o, --out <file>', 'write to this file (replaced atomically) instead of stdout'),
  ).action(
    action(async (id: string, opts: { out?: string }, cmd: Command) =>
      withSessions(cmd, async (sessions) => {
        if (!(await sessions.sessionExists(id))) throw new SessionNotFoundError(id);
        const data = await sessions.exportSession(id);
        const text = `${JSON.stringify(data, null, 2)}\n`;
        if (opts.out === undefined || opts.out === '-') process.stdout.write(text);
        else {
          await writeFileAtomic(path.resolve(opts.out), text);
          process.stderr.write(`exported ${showId(id)} (${data.messages.length} messages, ${data.snapshots.length} snapshots) to ${opts.out}\n`);
        }
        return EXIT.ok;
      }),
    ),
  );
}

