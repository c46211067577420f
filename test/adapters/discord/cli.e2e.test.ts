/** `bot start` running a discord entry of bots.yaml, `bot discord --bot <id>` picking one, config errors with lines. */
import { describe, expect, it } from 'vitest';
import { FAKE_DISCORD_TOKEN } from '../../helpers/fake-discord-server.js';
import { startCliUntilReady } from '../../helpers/platform-e2e.js';
import { runCli } from '../../helpers/run-cli.js';
import { discordYaml, replyMatching, startDiscord, stopCli, until, useDiscord, writeConfig } from './harness.js';

const d = useDiscord();
const EVE = { id: '1300000000000000401', username: 'eve' };

describe('bot start and --bot with discord entries', () => {
  it('bot start runs the discord entry, answers a DM, stops cleanly on SIGTERM', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }).replace('  - platform: discord', '  - platform: discord\n    token: ${DISCORD_BOT_TOKEN}'));
    const cli = await startCliUntilReady(d.sb, ['start'], /discord: running as @bothost-test/, { timeoutMs: 60_000 });
    d.fake.dm(EVE, 'hello from start');
    await until('reply', () => replyMatching(d.fake, d.fake.dmChannelOf(EVE.id), /you said "hello from start"/));
    cli.proc.kill('SIGTERM');
    const done = await cli.exited(15_000);
    expect(done.code, done.stderr).toBe(0);
    expect(done.all).not.toContain(FAKE_DISCORD_TOKEN);
  });

  it('--bot picks the entry by id (its own api_root and token); an unknown id lists the choices', async () => {
    const yaml = [
      'agents: { assistant: { model: echo } }',
      'bots:',
      '  - platform: discord',
      '    id: main',
      '    api_root: http://127.0.0.1:9/api',
      '    token: "not-this-one"',
      '  - platform: discord',
      '    id: support',
      `    api_root: ${d.fake.url}`,
      `    token: "${FAKE_DISCORD_TOKEN}"`,
      '    typing_interval_ms: 300',
      '',
    ].join('\n');
    await writeConfig(d.sb, yaml);
    const cli = await startDiscord(d.sb, ['--bot', 'support'], { DISCORD_BOT_TOKEN: '' });
    d.fake.dm(EVE, 'support please');
    await until('reply from support', () => replyMatching(d.fake, d.fake.dmChannelOf(EVE.id), /you said "support please"/));
    expect(await stopCli(cli)).not.toContain(FAKE_DISCORD_TOKEN);
    const r = await runCli(d.sb, ['discord', '--bot', 'sales'], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown discord bot "sales"; choose one of: main, support/);
  });

  it('a bad discord key is a config error naming bots.yaml:LINE (exit 2), before connecting', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url, entry: { threads: 'nested' } }));
    const r = await runCli(d.sb, ['discord'], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bots\.yaml:\d+: bots\[0\]\.threads: .*per_thread.*shared/);
    expect(d.fake.calls).toHaveLength(0);
  });
});
