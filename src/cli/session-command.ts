/**
 * `bot session …`: inspect and manage stored sessions — list, show, resume, fork, snapshot,
 * revert, export, import, rename, clear, delete — on the configured store or `--store`.
 * Every subcommand goes through the HierarchicalSessionStore, so forks and reverted sessions
 * read (and are resumed) with their stitched history.
 */
import type { Command } from 'commander';
import { registerSessionEdit, registerSessionImport } from './session-edit.js';
import { registerSessionExport, registerSessionInspect } from './session-inspect.js';
import { registerSessionMigrate } from './session-migrate-command.js';
import { registerSessionResume } from './session-resume.js';

export function registerSession(program: Command): void {
  const session = program.command('session').description('inspect and manage stored sessions: list, show, resume, fork, snapshot, revert, export, import');
  registerSessionInspect(session); // list, show
  registerSessionResume(session);
  registerSessionEdit(session); // fork, snapshot, revert, rename, clear, delete
  registerSessionExport(session);
  registerSessionImport(session);
  registerSessionMigrate(session);
}
