/** Errors of the session hierarchy: stable codes an operator (or a caller) can act on. */
import { BotHostError } from '../../core/errors.js';

const show = (id: string) => JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);
/** An id as a shell argument to copy: bare when safe, else single-quoted. */
const shellArg = (id: string) => (/^[A-Za-z0-9._:@\/+=-]+$/.test(id) ? id : `'${id.replaceAll("'", `'\\''`)}'`);

/** createSession / forkSession / importSession with an id that is taken: never a wipe. */
export class SessionExistsError extends BotHostError {
  constructor(id: string, hint = 'pick another id') {
    super('SESSION_EXISTS', `session ${show(id)} already exists; ${hint}`);
  }
}

export class SessionNotFoundError extends BotHostError {
  constructor(id: string, what = 'session') {
    super('SESSION_NOT_FOUND', `no ${what} ${show(id)}; see: bot session list`);
  }
}

export class SnapshotNotFoundError extends BotHostError {
  constructor(sessionId: string, snapshotId: string) {
    super('SNAPSHOT_NOT_FOUND', `session ${show(sessionId)} has no snapshot ${show(snapshotId)}; see: bot session show ${show(sessionId)}`);
  }
}

/** A cursor (or message index) that names no message of the session's history. */
export class InvalidCursorError extends BotHostError {
  constructor(message: string) {
    super('INVALID_CURSOR', message);
  }
}

/** Deleting a session whose history other sessions (its forks) are built on. */
export class SessionHasChildrenError extends BotHostError {
  constructor(id: string, children: string[]) {
    const list = children.slice(0, 5).map(show).join(', ') + (children.length > 5 ? ` and ${children.length - 5} more` : '');
    super(
      'SESSION_HAS_CHILDREN',
      `session ${show(id)} has ${children.length} fork(s) built on its history (${list}); delete them first, or delete them all with: bot session delete ${shellArg(id)} --recursive`,
    );
  }
}

/**
 * A message a session's history needs is no longer stored by the session that holds it
 * (retention trimmed it, or that session was deleted or cleared outside the hierarchy).
 * Raised instead of serving a history with a hole in it.
 */
export class HistoryUnavailableError extends BotHostError {
  constructor(sessionId: string, source: string, from: number, to: number, why: string) {
    const whose = source === sessionId ? 'its own log' : `session ${show(source)}`;
    super(
      'HISTORY_UNAVAILABLE',
      `session ${show(sessionId)} needs messages ${from}..${to} of ${whose}, which ${why}. ` +
        'Raise store.max_messages so forks and snapshots stay within what is kept, or revert/clear this session',
    );
  }
}

/** An export file that is not one, or a version this build cannot read. */
export class ImportFormatError extends BotHostError {
  constructor(message: string) {
    super('IMPORT_INVALID', `cannot import: ${message}`);
  }
}
