/**
 * `bot session migrate --from file|redis|postgres --to file|redis|postgres`: copy every session
 * with its entries (cursors and timestamps preserved), metadata, remembered inbound ids and
 * fence, then read everything back from the target and compare.
 *
 * Safe to re-run: a session the target already has is never overwritten; it counts as already
 * migrated when it matches the source, and as a conflict (exit 1) when it does not (e.g. the
 * bot kept writing to the target since). Stop the bots (or point them at the target) first:
 * sessions written to the source during the run may be copied before their last turn.
 */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { BotHostError } from '../core/errors.js';
import type { SessionEntry, SessionLog } from '../core/session-store.js';
import type { BotsConfig } from '../config/schema.js';
import type { TransferEnd } from '../sessions/session-transfer.js';
import { action, commandLogger, EXIT, loadForCommand, type GlobalOptions } from './context.js';

const BACKENDS = ['file', 'redis', 'postgres'] as const;
type Backend = (typeof BACKENDS)[number];

export const MIGRATE_DEFAULTS = Object.freeze({
  /** Sessions copied at once. */
  parallel: 8,
  /** Source stores are read whole: never let their cap hide entries they kept. */
  sourceMaxMessages: 10_000_000,
  listLimit: 100_000_000,
});

interface MigrateOptions {
  from: string;
  to: string;
  fromUrl?: string;
  toUrl?: string;
  fromPath?: string;
  toPath?: string;
  fromPrefix?: string;
  toPrefix?: string;
  fromSchema?: string;
  toSchema?: string;
  json?: boolean;
}

interface OpenEnd {
  end: TransferEnd;
  /** Where, for humans; never contains a password. */
  where: string;
  close(): Promise<void>;
}

type Outcome = 'migrated' | 'already' | 'conflict' | 'vanished';

/** Registered by one line in session-command.ts. */
export function registerSessionMigrate(session: Command): void {
  session
    .command('migrate')
    .description('copy every session (cursors, metadata, inbound ids) from one backend to another and verify')
    .requiredOption('--from <backend>', `source: ${BACKENDS.join(', ')}`)
    .requiredOption('--to <backend>', `target: ${BACKENDS.join(', ')}`)
    .option('--from-url <url>', 'source Redis/Postgres URL (default: store.url when the backend matches bots.yaml, else REDIS_URL / DATABASE_URL)')
    .option('--to-url <url>', 'target Redis/Postgres URL (same defaults)')
    .option('--from-path <dir>', 'source directory of the file backend (default: store.path, else ~/.bothost/sessions)')
    .option('--to-path <dir>', 'target directory of the file backend')
    .option('--from-prefix <prefix>', 'source Redis key prefix (default: store.prefix)')
    .option('--to-prefix <prefix>', 'target Redis key prefix (default: store.prefix)')
    .option('--from-schema <schema>', 'source Postgres schema (default: store.schema, else bothost)')
    .option('--to-schema <schema>', 'target Postgres schema (default: store.schema, else bothost)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n  bot session migrate --from file --to postgres --to-url postgres://localhost/bothost\n  bot session migrate --from redis --to postgres   # REDIS_URL and DATABASE_URL')
    .action(action(async (opts: MigrateOptions, cmd: Command) => migrate(opts, cmd)));
}

async function migrate(opts: MigrateOptions, cmd: Command): Promise<number> {
  const { config } = await loadForCommand(cmd.optsWithGlobals<GlobalOptions>());
  const from = backendOf(opts.from, '--from');
  const to = backendOf(opts.to, '--to');
  const logger = commandLogger();
  const source = await openEnd(from, 'from', opts, config, MIGRATE_DEFAULTS.sourceMaxMessages, logger);
  let target: OpenEnd | undefined;
  try {
    target = await openEnd(to, 'to', opts, config, config.store.max_messages, logger);
    if (from === to && source.where === target.where) {
      throw new BotHostError('SAME_STORE', `--from and --to are the same store (${source.where}); give --to-url, --to-path, --to-prefix or --to-schema`);
    }
    const { readSessionImage, trimImage } = await import('../sessions/session-image.js');
    const sessions = await source.end.store.listSessions({ limit: MIGRATE_DEFAULTS.listLimit });
    const progress = new Progress(sessions.length);
    const outcomes = new Map<Outcome, string[]>();
    const digests = new Map<string, { digest: string; messages: number; lastCursor: number }>();
    let messages = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: MIGRATE_DEFAULTS.parallel }, async () => {
        while (next < sessions.length) {
          const id = sessions[next++]!.id;
          const image = await readSessionImage(source.end.store, id, source.end);
          let outcome: Outcome = 'vanished';
          if (image) {
            const kept = trimImage(image, config.store.max_messages);
            digests.set(id, { digest: digestOf(kept.entries), messages: kept.entries.length, lastCursor: kept.lastCursor });
            outcome = (await target!.end.importImage(kept)) === 'imported' ? 'migrated' : (await matches(target!.end.store, id, digests.get(id)!)) ? 'already' : 'conflict';
            messages += kept.entries.length;
          }
          outcomes.set(outcome, [...(outcomes.get(outcome) ?? []), id]);
          progress.tick(messages);
        }
      }),
    );
    progress.done(messages);

    // Read everything back from the target.
    let verifiedSessions = 0;
    let verifiedMessages = 0;
    const mismatched: string[] = [];
    for (const id of [...(outcomes.get('migrated') ?? []), ...(outcomes.get('already') ?? [])]) {
      const expected = digests.get(id)!;
      if (await matches(target.end.store, id, expected)) {
        verifiedSessions++;
        verifiedMessages += expected.messages;
      } else mismatched.push(id);
    }
    const conflicts = outcomes.get('conflict') ?? [];
    const summary = {
      from: `${from} ${source.where}`,
      to: `${to} ${target.where}`,
      sessions: sessions.length,
      migrated: outcomes.get('migrated')?.length ?? 0,
      alreadyMigrated: outcomes.get('already')?.length ?? 0,
      vanished: outcomes.get('vanished')?.length ?? 0,
      conflicts,
      mismatched,
      verified: { sessions: verifiedSessions, messages: verifiedMessages },
      ok: conflicts.length === 0 && mismatched.length === 0,
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else process.stdout.write(describe(summary));
    return summary.ok ? EXIT.ok : EXIT.failure;
  } finally {
    await target?.close();
    await source.close();
  }
}

function backendOf(value: string, flag: string): Backend {
  if ((BACKENDS as readonly string[]).includes(value)) return value as Backend;
  throw new BotHostError('UNKNOWN_NAME', `unknown backend "${value}" for ${flag}; choose one of: ${BACKENDS.join(', ')}`);
}

/** Options first, then bots.yaml when it configures the same backend, then the usual environment. */
async function openEnd(backend: Backend, side: 'from' | 'to', opts: MigrateOptions, config: BotsConfig, maxMessages: number, logger: { warn(m: string): void }): Promise<OpenEnd> {
  const configured = config.store.backend === backend ? config.store : undefined;
  const url = side === 'from' ? opts.fromUrl : opts.toUrl;
  const flag = `--${side}-url`;
  if (backend === 'file') {
    const [{ expandHome }, { FILE_STORE_DEFAULTS, FileSessionStore }] = await Promise.all([import('../config/load.js'), import('../sessions/file-session-store.js')]);
    const dir = expandHome((side === 'from' ? opts.fromPath : opts.toPath) ?? configured?.path ?? FILE_STORE_DEFAULTS.dir);
    const store = new FileSessionStore({ dir, maxMessages, logger });
    const { fileTransferEnd } = await import('../sessions/session-transfer.js');
    return { end: fileTransferEnd(store), where: store.dir, close: () => store.close() };
  }
  if (backend === 'redis') {
    const redisUrl = url ?? configured?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = (side === 'from' ? opts.fromPrefix : opts.toPrefix) ?? config.store.prefix;
    const [{ connectRedis, describeRedis }, { RedisSessionStore }, { redisTransferEnd }] = await Promise.all([
      import('../redis/redis-connection.js'),
      import('../sessions/redis-session-store.js'),
      import('../sessions/session-transfer.js'),
    ]);
    const client = connectRedis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    let socketError: Error | undefined;
    client.on('error', (err: Error) => void (socketError ??= err));
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw new BotHostError('STORE_FAILED', `cannot reach Redis at ${describeRedis(redisUrl)} (${(socketError ?? (err as Error)).message}); start it or fix ${flag}`);
    }
    const store = new RedisSessionStore({ client, prefix, maxMessages });
    return {
      end: redisTransferEnd(store, client),
      where: `${describeRedis(redisUrl)} prefix ${prefix}`,
      async close() {
        await store.close();
        client.disconnect();
      },
    };
  }
  const pgUrl = url ?? configured?.url ?? process.env.DATABASE_URL;
  if (!pgUrl) throw new BotHostError('MISSING_URL', `the postgres backend needs ${flag} (or DATABASE_URL, or store.url with store.backend postgres)`);
  const schema = (side === 'from' ? opts.fromSchema : opts.toSchema) ?? config.store.schema ?? 'bothost';
  const [{ PostgresSessionStore }, { postgresTransferEnd }] = await Promise.all([import('../sessions/postgres-session-store.js'), import('../sessions/session-transfer.js')]);
  const store = new PostgresSessionStore({ url: pgUrl, schema, maxMessages });
  try {
    await store.open();
  } catch (error) {
    await store.close();
    throw error;
  }
  return { end: postgresTransferEnd(store), where: `${describePostgres(pgUrl)} schema ${schema}`, close: () => store.close() };
}

function describePostgres(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparseable Postgres URL)';
  }
}

/** Cursors, roles and contents of what is kept, hashed: equal digests mean equal histories. */
function digestOf(entries: SessionEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.cursor}\u0000${e.role}\u0000${e.content.length}\u0000${e.content}\u0000`);
  return h.digest('hex');
}

async function matches(store: SessionLog, id: string, expected: { digest: string; messages: number; lastCursor: number }): Promise<boolean> {
  const info = await store.getSession(id);
  if (!info || info.lastCursor !== expected.lastCursor) return false;
  const entries = await store.getEntries(id);
  return entries.length === expected.messages && digestOf(entries) === expected.digest;
}

function describe(s: { from: string; to: string; sessions: number; migrated: number; alreadyMigrated: number; vanished: number; conflicts: string[]; mismatched: string[]; verified: { sessions: number; messages: number } }): string {
  const lines = [
    `from ${s.from}`,
    `to   ${s.to}`,
    `migrated ${s.migrated} of ${s.sessions} sessions${s.alreadyMigrated ? `; ${s.alreadyMigrated} already migrated (unchanged)` : ''}${s.vanished ? `; ${s.vanished} deleted during the run` : ''}`,
    `verified ${s.verified.sessions} sessions, ${s.verified.messages} messages read back from the target`,
  ];
  const show = (ids: string[]) => ids.slice(0, 10).map((id) => JSON.stringify(id)).join(', ') + (ids.length > 10 ? ', …' : '');
  if (s.conflicts.length) lines.push(`NOT migrated: ${s.conflicts.length} sessions already exist in the target with other content (left as they are): ${show(s.conflicts)}`);
  if (s.mismatched.length) lines.push(`MISMATCH: ${s.mismatched.length} sessions read back differently: ${show(s.mismatched)}`);
  return `${lines.join('\n')}\n`;
}

/** A bar on a terminal; a line per tenth of the work otherwise (logs, CI). Always on stderr. */
class Progress {
  private done_ = 0;
  private lastDecile = -1;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly total: number) {}

  tick(messages: number): void {
    this.done_++;
    const pct = this.total === 0 ? 100 : Math.floor((this.done_ / this.total) * 100);
    if (this.tty) {
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(`\rmigrating [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}% ${this.done_}/${this.total} sessions, ${messages} messages`);
    } else if (Math.floor(pct / 10) > this.lastDecile) {
      this.lastDecile = Math.floor(pct / 10);
      process.stderr.write(`migrating: ${this.done_}/${this.total} sessions (${pct}%), ${messages} messages\n`);
    }
  }

  done(messages: number): void {
    if (this.tty && this.total > 0) process.stderr.write('\n');
    if (this.total === 0) process.stderr.write('migrating: the source has no sessions\n');
    else if (!this.tty && this.lastDecile < 10) process.stderr.write(`migrating: ${this.done_}/${this.total} sessions (100%), ${messages} messages\n`);
  }
}
