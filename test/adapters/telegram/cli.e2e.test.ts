/** `bot telegram` and `bot start` as an operator meets them: missing token, config errors with lines, bot start running a telegram entry, SIGTERM. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAKE_TOKEN } from '../../helpers/fake-telegram-server.js';
import { startCliUntilReady } from '../../helpers/platform-e2e.js';
import { runCli } from '../../helpers/run-cli.js';
import { replyMatching, telegramYaml, until, useTelegram, writeConfig } from './harness.js';

const t = useTelegram();

describe('bot telegram: operator errors', () => {
  it('no token anywhere: exits non-zero naming TELEGRAM_BOT_TOKEN and bots.yaml', async () => {
    const r = await runCli(t.sb, ['telegram'], { env: { TELEGRAM_BOT_TOKEN: '' }, timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TELEGRAM_BOT_TOKEN is not set and no token is configured: export TELEGRAM_BOT_TOKEN=<token from @BotFather> or add `token: \$\{TELEGRAM_BOT_TOKEN\}` to a telegram entry in bots\.yaml/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad telegram key is a config error naming bots.yaml:LINE and the key (exit 2), before connecting', async () => {
    await writeConfig(t.sb, 'bots:\n  - platform: telegram\n    mode: hook\n    api_root: http://127.0.0.1:1\n');
    const r = await runCli(t.sb, ['telegram'], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config error: bots\.yaml:3: bots\[0\]\.mode: unknown mode "hook"; choose one of polling, webhook/);
    expect(r.all).not.toContain(FAKE_TOKEN);
  });

  it('bot config check validates the telegram keys too, with the line', async () => {
    await writeConfig(t.sb, 'bots:\n  - platform: telegram\n    token: "1:x"\n    forum_topics: per_topic\n');
    const r = await runCli(t.sb, ['config', 'check'], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bots\.yaml:4: bots\[0\]\.forum_topics: unknown forum topics "per_topic"; choose one of shared, per_thread/);
  });

  it('a token Telegram rejects (401): exits 1 with what to check, token never printed', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }));
    const r = await runCli(t.sb, ['telegram'], { env: { TELEGRAM_BOT_TOKEN: '999:WRONG-FAKE-TOKEN' }, timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Telegram rejected the token of bot "telegram" \(401 Unauthorized\); check TELEGRAM_BOT_TOKEN or bots\.yaml/);
    expect(r.all).not.toContain('WRONG-FAKE-TOKEN');
  });

  it('--bot picks an entry by id; an unknown id lists the choices', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }).replace('  - platform: telegram', '  - platform: telegram\n    id: support'));
    const r = await runCli(t.sb, ['telegram', '--bot', 'sales'], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown telegram bot "sales"; choose one of: support/);
  });
});

describe('bot start with a telegram entry', () => {
  it('runs the bot from bots.yaml, answers, and stops cleanly on SIGTERM', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url }).replace('  - platform: telegram', '  - platform: telegram\n    token: ${TELEGRAM_BOT_TOKEN}'));
    const cli = await startCliUntilReady(t.sb, ['start'], /telegram: running as @test_bot/, { timeoutMs: 60_000 });
    // The summary line may follow the bot's own line.
    await cli.waitForStderr(/bothost: 1 bot\(s\) running/);
    expect(cli.stderr()).toContain(`config ${path.join(t.sb.cwd, 'bots.yaml')}`);
    t.fake.userSays({ chat: { id: 11, type: 'private' }, from: { id: 11 }, text: 'hello from start' });
    await until('reply', () => replyMatching(t.fake, 11, /you said "hello from start"/));
    cli.proc.kill('SIGTERM');
    const done = await cli.exited(15_000);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/stopped\./);
    expect(done.all).not.toContain(FAKE_TOKEN);
  });
});
