/**
 * File sessions damaged by hand or disk: a record line whose cursors do not increase (a copied
 * line) is dropped with a warning, by readers and writers alike; a garbage line or an old torn
 * tail is reported on read too (the next write repairs both). Also through `bot session show`.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../src/sessions/file-session-store.js';
import { runCli, runCliJson, useSandbox } from '../helpers/run-cli.js';
import { TempDirs } from '../helpers/temp-dir.js';

const tmp = new TempDirs();
afterEach(() => tmp.removeAll());

function openStore(dir: string) {
  const warnings: string[] = [];
  return { store: new FileSessionStore({ dir, logger: { warn: (m) => warnings.push(m) } }), warnings };
}

/** 8 entries in 4 commits; returns the file and its lines (header, then commits 1-2, 3-4, 5-6, 7-8). */
async function seed(dir: string): Promise<{ file: string; lines: string[] }> {
  const { store } = openStore(dir);
  for (let i = 1; i <= 8; i += 2) {
    await store.commitTurn('s', { entries: [{ role: 'user', content: `m${i}` }, { role: 'assistant', content: `m${i + 1}` }] });
  }
  const file = store.fileFor('s');
  return { file, lines: (await fsp.readFile(file, 'utf8')).trimEnd().split('\n') };
}

const cursorsOf = (entries: Array<{ cursor: number }>) => entries.map((e) => e.cursor);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('file sessions with records out of order', () => {
  for (const [where, edit] of [
    ['appended at the end', (l: string[]) => [...l, l[1]!]],
    ['copied into the middle', (l: string[]) => [...l.slice(0, 3), l[1]!, ...l.slice(3)]],
    ['the last commit repeated', (l: string[]) => [...l, l[4]!]],
  ] as const) {
    it(`a duplicated commit line (${where}) is dropped with a warning on read, and repaired by the next write`, async () => {
      const dir = await tmp.make();
      const { file, lines } = await seed(dir);
      await fsp.writeFile(file, `${edit(lines).join('\n')}\n`);

      const { store, warnings } = openStore(dir);
      expect(cursorsOf(await store.getEntries('s'))).toEqual(range(1, 8));
      expect(cursorsOf(await store.getEntries('s', { after: 5 }))).toEqual([6, 7, 8]);
      expect(cursorsOf(await store.getEntries('s', { after: 0, limit: 3 }))).toEqual([1, 2, 3]);
      expect((await store.getChatHistory('s')).map((m) => m.content)).toEqual(range(1, 8).map((i) => `m${i}`));
      expect(await store.getSession('s')).toMatchObject({ lastCursor: 8, messageCount: 8 });
      expect(warnings.some((w) => w.includes(file) && /out of order|do not increase/.test(w)), warnings.join('\n')).toBe(true);

      expect(await store.commitTurn('s', { entries: [{ role: 'user', content: 'm9' }] })).toEqual({ status: 'committed', cursors: [9] });
      const repaired = openStore(dir);
      expect(cursorsOf(await repaired.store.getEntries('s'))).toEqual(range(1, 9));
      expect(repaired.warnings).toEqual([]);
      const text = await fsp.readFile(file, 'utf8');
      expect(text.split('\n').filter((l) => l.includes('"m1"'))).toHaveLength(1);
    });
  }

  it('a garbage line, and a torn tail left by a writer long gone, are reported on read (not only on the next write)', async () => {
    const dir = await tmp.make();
    const { file, lines } = await seed(dir);
    await fsp.writeFile(file, `${[...lines.slice(0, 2), 'this is not json', ...lines.slice(2)].join('\n')}\n{"t":"c","c":9,"ts":1,"e":[{"r":"us`);
    const old = new Date(Date.now() - 60_000);
    await fsp.utimes(file, old, old);
    const { store, warnings } = openStore(dir);
    expect(cursorsOf(await store.getEntries('s'))).toEqual(range(1, 8));
    expect(await store.getSession('s')).toMatchObject({ lastCursor: 8 });
    expect(warnings.some((w) => w.includes(file) && /damaged line/.test(w)), warnings.join('\n')).toBe(true);
    expect(warnings.some((w) => w.includes(file) && /unfinished write/.test(w)), warnings.join('\n')).toBe(true);
  });
});

describe('bot session show on a damaged file', () => {
  const cli = useSandbox();
  it('serves the intact records and says on stderr what is wrong', async () => {
    await runCliJson(cli.sb, ['chat', '--session', 'demo', '--message', 'one', '--json']);
    await runCliJson(cli.sb, ['chat', '--session', 'demo', '--message', 'two', '--json']);
    const file = path.join(cli.sb.sessionsDir, 'demo.jsonl');
    const lines = (await fsp.readFile(file, 'utf8')).trimEnd().split('\n');
    const commit = lines.findIndex((l) => l.startsWith('{"t":"c"'));
    await fsp.writeFile(file, `${[...lines, lines[commit]!, 'garbage here'].join('\n')}\n`);
    const r = await runCli(cli.sb, ['session', 'show', 'demo', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).entries.map((e: { cursor: number }) => e.cursor)).toEqual([1, 2, 3, 4]);
    expect(r.stderr).toMatch(/damaged line/);
    expect(r.stderr).toMatch(/out of order/);
  });
});
