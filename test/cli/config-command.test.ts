/** `bot config check` and `bot config schema`, and how commands pick their config file. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_BOTS_YAML, runCli, runCliJson, useSandbox } from '../helpers/run-cli.js';

const cli = useSandbox();

async function writeConfig(name: string, text: string): Promise<string> {
  const file = path.join(cli.sb.cwd, name);
  await fsp.writeFile(file, text);
  return file;
}

describe('bot config check', () => {
  it("accepts the repo's bots.yaml (explicit path, ./bots.yaml, $BOTHOST_CONFIG) and names the unset token variables", async () => {
    await fsp.copyFile(REPO_BOTS_YAML, path.join(cli.sb.cwd, 'bots.yaml'));
    const [explicit, local, fromEnv] = await Promise.all([
      runCli(cli.sb, ['config', 'check', REPO_BOTS_YAML]),
      runCli(cli.sb, ['config', 'check']),
      runCli(cli.sb, ['config', 'check'], { env: { BOTHOST_CONFIG: REPO_BOTS_YAML }, cwd: cli.sb.home }),
    ]);
    for (const r of [explicit, local, fromEnv]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/: OK$/m);
      for (const v of ['TELEGRAM_BOT_TOKEN', 'DISCORD_BOT_TOKEN', 'SLACK_BOT_TOKEN']) expect(r.stdout).toContain(`${v} is not set`);
      expect(r.stdout).toMatch(/agents:\s+assistant \(model echo\)/);
      // ~ expands to this process's HOME, not the developer's.
      expect(r.stdout).toContain(`file at ${cli.sb.sessionsDir}`);
    }
    expect(explicit.stdout.split('\n')[0]).toBe(`${REPO_BOTS_YAML}: OK`);
    expect(local.stdout.split('\n')[0]).toBe(`${path.join(cli.sb.cwd, 'bots.yaml')}: OK`);
    expect(fromEnv.stdout.split('\n')[0]).toBe(`${REPO_BOTS_YAML}: OK`);
  });

  it('a token that is set is not reported as missing; BOT_MODEL shows up as the model', async () => {
    const r = await runCli(cli.sb, ['config', 'check', REPO_BOTS_YAML], { env: { TELEGRAM_BOT_TOKEN: 'tg-secret-123', BOT_MODEL: 'llama3.1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('TELEGRAM_BOT_TOKEN');
    expect(r.stdout).toContain('DISCORD_BOT_TOKEN is not set');
    expect(r.stdout).toMatch(/assistant \(model llama3\.1\)/);
    expect(r.all).not.toContain('tg-secret-123');
  });

  it('with no file anywhere: the built-in defaults', async () => {
    const r = await runCli(cli.sb, ['config', 'check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/built-in defaults/);
    expect(r.stdout).toMatch(/bots:\s+\(none\)/);
  });

  it('malformed files exit 2 with file:line and the YAML path on stderr', async () => {
    await Promise.all([
      // a key indented by 3 instead of 4 spaces: YAML syntax error
      writeConfig('bad-syntax.yaml', 'agents:\n  assistant:\n    model: echo\n   instructions: hi\n'),
      // a key not indented under its parent: valid YAML, wrong shape
      writeConfig('bad-indent.yaml', 'agents:\n  assistant:\n  model: echo\n'),
      writeConfig('bad-platform.yaml', 'agents:\n  assistant:\n    model: echo\nbots:\n  - platform: telegram\n    token: abc\n  - platform: telegrm\n    token: abc\n'),
      writeConfig('bad-key.yaml', 'agents:\n  assistant:\n    model: echo\nstore:\n  backend: file\n  colour: red\n'),
    ]);
    const check = (file: string) => runCli(cli.sb, ['config', 'check', file]);
    const [syntax, indent, platform, key] = await Promise.all([
      check('bad-syntax.yaml'),
      check('bad-indent.yaml'),
      check('bad-platform.yaml'),
      check('bad-key.yaml'),
    ]);
    for (const r of [syntax, indent, platform, key]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^config error: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(syntax.stderr).toMatch(/bad-syntax\.yaml:4: .*YAML syntax error/);
    expect(syntax.stderr).toMatch(/indentation/);
    expect(indent.stderr).toMatch(/bad-indent\.yaml:3: agents\.model: /);
    expect(platform.stderr).toMatch(/bad-platform\.yaml:7: bots\[1\]\.platform: unknown platform "telegrm"; choose one of telegram, discord, slack/);
    expect(key.stderr).toMatch(/bad-key\.yaml:6: store\.colour: unknown key 'colour'/);
  });

  it('every problem is reported at once, in line order', async () => {
    await writeConfig('two.yaml', 'agents:\n  assistant:\n    modle: echo\n    model: echo\nbots:\n  - platform: telegrm\n    token: x\n');
    const r = await runCli(cli.sb, ['config', 'check', 'two.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/2 problems in two\.yaml/);
    const a = r.stderr.indexOf('two.yaml:3: agents.assistant.modle');
    const b = r.stderr.indexOf('two.yaml:6: bots[0].platform');
    expect(a).toBeGreaterThan(-1);
    expect(b).toBeGreaterThan(a);
  });

  it('a missing named file exits 2 and says where it looked; other commands report config errors the same way', async () => {
    await writeConfig('bots.yaml', 'bots:\n  - platform: telegrm\n    token: x\n');
    const [missing, missingEnv, chat, list] = await Promise.all([
      runCli(cli.sb, ['config', 'check', 'nothere.yaml']),
      runCli(cli.sb, ['config', 'check'], { env: { BOTHOST_CONFIG: 'nothere.yaml' } }),
      runCli(cli.sb, ['chat', '--session', 'x', '--message', 'hi']),
      runCli(cli.sb, ['session', 'list']),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`config file nothere.yaml not found (looked at ${path.join(cli.sb.cwd, 'nothere.yaml')})`);
    expect(missingEnv.code).toBe(2);
    expect(missingEnv.stderr).toMatch(/from BOTHOST_CONFIG/);
    for (const r of [chat, list]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bots\.yaml:2: bots\[0\]\.platform: unknown platform "telegrm"/);
    }
    // Nothing was stored by the refused chat.
    expect(chat.stdout).toBe('');
  });
});

describe('bot config schema', () => {
  it('prints a JSON Schema with properties.agents', async () => {
    const schema = await runCliJson<{ type: string; properties: Record<string, any> }>(cli.sb, ['config', 'schema']);
    expect(schema.type).toBe('object');
    expect(schema.properties.agents).toBeDefined();
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['agents', 'store', 'bots', 'gateway']));
  });
});
