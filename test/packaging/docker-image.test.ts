/**
 * The Docker image builds from exactly what its Dockerfile copies (no Docker daemon needed: the
 * build stage's COPY lines are replayed into a temp dir and compiled there), and the compose file
 * runs commands the CLI has, with a restart policy for every service.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/run-cli.js';

/** `COPY a b ./dest` lines of the first (build) stage, without `--from`. */
function buildStageCopies(dockerfile: string): string[][] {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  return stages[0]!
    .split('\n')
    .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
    .map((l) => l.replace(/^COPY\s+/, '').replace(/--chown=\S+\s+/, '').trim().split(/\s+/).slice(0, -1));
}

describe('Docker image', () => {
  it('the build stage compiles from exactly the files it copies, and the CLI runs', () => {
    const copies = buildStageCopies(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    expect(copies.flat()).toEqual(expect.arrayContaining(['package.json', 'tsconfig.json', 'src', 'adapters']));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bothost-image-'));
    try {
      for (const source of copies.flat()) cpSync(path.join(REPO_ROOT, source), path.join(dir, source), { recursive: true });
      symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      const build = spawnSync('npm', ['run', 'build'], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
      expect(build.status, build.stdout + build.stderr).toBe(0);
      const help = spawnSync(process.execPath, ['dist/src/cli/main.js', '--help'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/worker/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('compose: every bothost service runs a CLI command, restarts and is health-checked on /readyz; the image runs as a non-root user', () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { build?: string; command?: string[]; restart?: string; healthcheck?: { test?: string[] } }>;
    };
    const help = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/src/cli/main.js'), '--help'], { encoding: 'utf8' }).stdout;
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, `${name} has a restart policy`).toBe('unless-stopped');
      if (!service.build) continue;
      expect(help, `${name} runs "${service.command?.[0]}"`).toContain(`  ${service.command![0]}`);
      // The gateway on its own port, every other role on its metrics port.
      const port = service.command![0] === 'gateway' ? 8765 : 9464;
      expect(service.healthcheck?.test?.join(' '), `${name}'s healthcheck`).toContain(`http://127.0.0.1:${port}/readyz`);
    }
    expect(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
  });
});
