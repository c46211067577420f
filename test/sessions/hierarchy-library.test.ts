/** The hierarchy is part of the package's public API (built output, imported by name). */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');

describe('the package exports the hierarchy', () => {
  it('HierarchicalSessionStore, its errors and export format, by name', async () => {
    const script = `
      import { HierarchicalSessionStore, MemorySessionStore, SessionExistsError, HistoryUnavailableError, EXPORT_FORMAT, EXPORT_VERSION } from 'bothost';
      const sessions = new HierarchicalSessionStore(new MemorySessionStore());
      const main = await sessions.createSession({ id: 'main', title: 'Main' });
      await sessions.addMessage(main, 'user', "Let's discuss Python");
      const snap = await sessions.createSnapshot(main, 'safe point');
      const fork = await sessions.forkSession(main, { id: 'alt', title: 'Alternative' });
      await sessions.addMessage(main, 'user', 'risky');
      await sessions.revertToSnapshot(main, snap);
      let exists = null;
      try { await sessions.createSession({ id: 'main' }); } catch (e) { exists = e instanceof SessionExistsError && e.code; }
      console.log(JSON.stringify({
        main: await sessions.getChatHistory(main),
        fork: await sessions.getChatHistory(fork),
        tree: (await sessions.getSessionTree(main)).children.map((c) => c.id),
        exists,
        format: [EXPORT_FORMAT, EXPORT_VERSION, (await sessions.exportSession(fork)).format],
        errorClass: typeof HistoryUnavailableError,
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({
      main: [{ role: 'user', content: "Let's discuss Python" }],
      fork: [{ role: 'user', content: "Let's discuss Python" }],
      tree: ['alt'],
      exists: 'SESSION_EXISTS',
      format: ['bothost-session', 1, 'bothost-session'],
      errorClass: 'function',
    });
  });
});
