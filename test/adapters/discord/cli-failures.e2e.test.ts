/**
 * `bot discord` refusing to run, end to end: no token (says which variable), a token Discord
 * rejects, and a 4014 close (Message Content intent not enabled) — each exits non-zero with
 * what to fix, after at most one IDENTIFY (no reconnect loop; T37), never printing the token.
 */
import { describe, expect, it } from 'vitest';
import { FAKE_DISCORD_TOKEN } from '../../helpers/fake-discord-server.js';
import { runCli } from '../../helpers/run-cli.js';
import { discordYaml, sleep, useDiscord, writeConfig } from './harness.js';

const d = useDiscord();

describe('bot discord: refusing to run', () => {
  it('without a token: names DISCORD_BOT_TOKEN and the bots.yaml entry', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }));
    const r = await runCli(d.sb, ['discord'], { env: { DISCORD_BOT_TOKEN: '' }, timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/DISCORD_BOT_TOKEN is not set/);
    expect(d.fake.calls).toHaveLength(0);
  });

  it('a token Discord rejects: stops with the portal step, before any gateway connection', async () => {
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }));
    const wrong = 'MTIzNDU2.WRONG-discord-token.zzz';
    const r = await runCli(d.sb, ['discord'], { env: { DISCORD_BOT_TOKEN: wrong }, timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Discord rejected the token of bot "discord".*Reset Token/);
    expect(d.fake.gateway.connections).toBe(0);
    expect(r.all).not.toContain(wrong);
  });

  it('4014: stops with the intent to switch on in the developer portal, one IDENTIFY, no loop', async () => {
    d.fake.gateway.privilegedIntentsEnabled = false;
    await writeConfig(d.sb, discordYaml({ apiRoot: d.fake.url }));
    const t0 = Date.now();
    const r = await runCli(d.sb, ['discord'], { timeoutMs: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/4014/);
    expect(r.stderr).toMatch(/Bot → Privileged Gateway Intents, switch on MESSAGE CONTENT INTENT/);
    expect(r.stderr).not.toMatch(/running/);
    await sleep(500);
    expect(d.fake.gateway.identifies).toBe(1);
    expect(d.fake.gateway.closeCodes).toEqual([4014]);
    expect(r.all).not.toContain(FAKE_DISCORD_TOKEN);
  });
});
