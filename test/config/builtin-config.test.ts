/**
 * With no bots.yaml the CLI uses builtinConfig(), built without the YAML parser and the schema:
 * it must be exactly what validating an empty file gives, for any home directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinConfig } from '../../src/config/builtin-config.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('builtinConfig', () => {
  it('equals the validated empty file, paths under the home directory expanded', () => {
    const parsed = parseConfig('', { env: {} });
    const built = builtinConfig();
    expect(built.config).toStrictEqual(parsed.config);
    expect(built.file).toBeNull();
    expect(built.missingEnv).toEqual({});
    expect(built.config.store.path).toBe(path.join(os.homedir(), '.bothost/sessions'));
    expect(builtinConfig('/home/x').config.gateway.session.persist_path).toBe('/home/x/.bothost/gateway-sessions');
  });

  it('locates paths as an empty file does (line 1)', () => {
    const parsed = parseConfig('', { env: {} });
    for (const p of [[], ['bots', 0, 'token'], ['agents', 'my.bot', 'model']]) {
      expect(builtinConfig().source!.locate(p)).toEqual(parsed.source!.locate(p));
    }
    expect(builtinConfig().source!.display).toBe(parsed.source!.display);
  });

  it('is what loadConfig returns when no file is found, and a file still goes through the schema', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'bothost-builtin-'));
    dirs.push(cwd);
    const before = process.cwd();
    process.chdir(cwd);
    try {
      expect((await loadConfig(undefined, {})).config).toStrictEqual(builtinConfig().config);
      writeFileSync(path.join(cwd, 'bots.yaml'), 'queue: { concurrency: 3 }\n');
      const loaded = await loadConfig(undefined, {});
      expect(loaded.file).toBe(path.join(cwd, 'bots.yaml'));
      expect(loaded.config.queue.concurrency).toBe(3);
      writeFileSync(path.join(cwd, 'bots.yaml'), 'queue: { concurrency: -1 }\n');
      await expect(loadConfig(undefined, {})).rejects.toThrow(/bots\.yaml:1: queue\.concurrency/);
    } finally {
      process.chdir(before);
    }
  });
});
