/**
 * What the published package holds: the product build (dist/src, dist/adapters) and the config
 * files, never the compiled benches or test helpers that `tsc -p tsconfig.bench.json` also writes
 * under dist/. The product build itself compiles neither bench/ nor test/.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-cli.js';

/** A dist/ as a developer's checkout has it after building the product, the benches and the tests. */
const BUILT = ['dist/src/index.js', 'dist/src/cli/main.js', 'dist/adapters/telegram/index.js', 'dist/bench/run.js', 'dist/bench/tools/report.js', 'dist/test/helpers/run-cli.js'];

/** The paths `npm pack` would put in the tarball of the repo's package.json over `BUILT`. */
function packedPaths(): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bothost-pack-'));
  try {
    for (const file of ['package.json', 'README.md', 'bots.yaml', 'bots.schema.json']) copyFileSync(path.join(REPO_ROOT, file), path.join(dir, file));
    for (const file of BUILT) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), 'export {};\n');
    }
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(pack.status, pack.stderr).toBe(0);
    return (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm package', () => {
  it('holds the product build and config files, no compiled bench or test file', () => {
    const files = packedPaths();
    expect(files).toEqual(expect.arrayContaining(['dist/src/index.js', 'dist/src/cli/main.js', 'dist/adapters/telegram/index.js', 'bots.yaml', 'README.md']));
    expect(files.filter((f) => /^dist\/(bench|test)\//.test(f))).toEqual([]);
  }, 90_000);

  it('the product build compiles src and adapters only', () => {
    const tsconfig = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
    expect(tsconfig.include.sort()).toEqual(['adapters', 'src']);
  });
});
