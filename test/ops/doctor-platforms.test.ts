/**
 * `bot doctor`'s platform checks as a real process against the fake platforms: for Telegram
 * (getMe, getWebhookInfo vs the mode), Discord (GET /users/@me, the Message Content intent),
 * Slack (auth.test and its x-oauth-scopes) and WhatsApp (linked or not, from the auth dir), a
 * good set-up passes and a bad one is reported with its fix — and no token is ever printed. A
 * bot whose token variable is unset is ⚠ skipped.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/ops/doctor-report.js';
import { FAKE_DISCORD_TOKEN, startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord-server.js';
import { FAKE_SLACK, startFakeSlack, type FakeSlack } from '../helpers/fake-slack-server.js';
import { FAKE_TOKEN, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram-server.js';
import { runCli, useSandbox } from '../helpers/run-cli.js';
import { writeLinkedAuthDir } from '../helpers/whatsapp-auth.js';

const box = useSandbox();
let telegram: FakeTelegram;
let discord: FakeDiscord;
let discordNoIntent: FakeDiscord;
let slack: FakeSlack;
beforeAll(async () => {
  [telegram, discord, discordNoIntent, slack] = await Promise.all([startFakeTelegram(), startFakeDiscord(), startFakeDiscord({ messageContentIntent: false }), startFakeSlack()]);
});
afterAll(async () => {
  await Promise.all([telegram.close(), discord.close(), discordNoIntent.close(), slack.close()]);
});

const WRONG = { TELEGRAM_BOT_TOKEN: '999:WRONG-telegram-token', DISCORD_BOT_TOKEN: 'wrong-discord-token-abc123', SLACK_BOT_TOKEN: 'fake-wrong-slack-token-xyz' };

async function doctor(o: { discordUrl?: string; telegramMode?: 'polling' | 'webhook'; linked: boolean }, env: Record<string, string>) {
  const authDir = path.join(box.sb.root, `wa-${o.linked ? 'linked' : 'unlinked'}`);
  if (o.linked) await writeLinkedAuthDir(authDir, { id: '4915112345678:3@s.whatsapp.net' });
  const yaml = [
    'metrics: { enabled: false }',
    'bots:',
    `  - { platform: telegram, id: tg, token: "\${TELEGRAM_BOT_TOKEN}", api_root: "${telegram.url}"${o.telegramMode === 'webhook' ? ', mode: webhook, webhook: { url: "https://bot.example.com/telegram", secret: "webhook-secret-123" }' : ''} }`,
    `  - { platform: discord, id: dc, token: "\${DISCORD_BOT_TOKEN}", api_root: "${o.discordUrl ?? discord.url}" }`,
    `  - { platform: slack, id: sl, token: "\${SLACK_BOT_TOKEN}", signing_secret: "\${SLACK_SIGNING_SECRET}", api_url: "${slack.apiUrl}" }`,
    `  - { platform: whatsapp, id: wa, auth_dir: "${authDir}", allowed_users: ["+4915100000000"] }`,
    '',
  ].join('\n');
  const file = path.join(box.sb.root, 'bots.yaml');
  await fsp.writeFile(file, yaml);
  const base = { SLACK_SIGNING_SECRET: FAKE_SLACK.signingSecret, ...env };
  const json = await runCli(box.sb, ['--config', file, 'doctor', '--json'], { env: base });
  const table = await runCli(box.sb, ['--config', file, 'doctor'], { env: base });
  const checks = (JSON.parse(json.stdout) as { checks: CheckResult[] }).checks;
  const of = (name: string) => checks.find((c) => c.check === name);
  const all = json.all + table.all;
  for (const secret of [FAKE_TOKEN, FAKE_DISCORD_TOKEN, FAKE_SLACK.botToken, FAKE_SLACK.signingSecret, ...Object.values(WRONG)]) expect(all).not.toContain(secret);
  return { code: json.code, of, table: table.stdout };
}

const GOOD = { TELEGRAM_BOT_TOKEN: FAKE_TOKEN, DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN, SLACK_BOT_TOKEN: FAKE_SLACK.botToken };

describe('bot doctor platform checks', () => {
  it('pass for good tokens, the intent on, every Slack scope, a linked WhatsApp device', async () => {
    slack.scopes = ['app_mentions:read', 'chat:write', 'commands', 'reactions:write', 'channels:history', 'groups:history', 'im:history', 'mpim:history'];
    const { of, table } = await doctor({ linked: true }, GOOD);
    expect(of('bot tg')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/accepts the token: @/) });
    expect(of('bot tg webhook')).toMatchObject({ status: 'ok', detail: 'no webhook registered (the bot polls)' });
    expect(of('bot dc')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^Discord accepts the token/) });
    expect(of('bot dc intents')).toMatchObject({ status: 'ok' });
    expect(of('bot sl')).toMatchObject({ status: 'ok', detail: `Slack accepts the token: ${FAKE_SLACK.botName} in Fake Team` });
    expect(of('bot sl scopes')).toMatchObject({ status: 'ok' });
    expect(of('bot wa')).toMatchObject({ status: 'ok', detail: 'linked (account …5678)' });
    expect(table).toMatch(/✓ bot dc intents/);
  }, 60_000);

  it('fail for bad tokens, the intent off, a missing scope, a stray webhook; an unlinked device is skipped', async () => {
    slack.scopes = ['chat:write', 'app_mentions:read'];
    const hook = await fetch(`${telegram.url}/bot${FAKE_TOKEN}/setWebhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'https://old.example.com/hook' }) });
    expect(hook.status).toBe(200);
    try {
      const polling = await doctor({ linked: false, discordUrl: discordNoIntent.url }, GOOD);
      expect(polling.code).toBe(1);
      expect(polling.of('bot tg webhook')).toMatchObject({ status: 'warn', detail: expect.stringContaining('https://old.example.com'), fix: expect.stringMatching(/mode: webhook/) });
      expect(polling.of('bot dc intents')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/MESSAGE CONTENT INTENT/) });
      expect(polling.of('bot sl scopes')).toMatchObject({ status: 'warn', detail: 'the token lacks reactions:write, im:history, channels:history, groups:history, mpim:history, commands' });
      expect(polling.of('bot wa')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^skipped: .*not linked|^skipped: .*login/) });
      const webhook = await doctor({ linked: false, telegramMode: 'webhook' }, GOOD);
      expect(webhook.of('bot tg webhook')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/is not bots\[0\]\.webhook\.url/) });
    } finally {
      await fetch(`${telegram.url}/bot${FAKE_TOKEN}/deleteWebhook`, { method: 'POST' });
    }

    const bad = await doctor({ linked: true }, WRONG);
    expect(bad.code).toBe(1);
    expect(bad.of('bot tg')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/refused the token \(401\)/) });
    expect(bad.of('bot dc')).toMatchObject({ status: 'fail', detail: 'Discord refused the token (401)', fix: expect.stringMatching(/DISCORD_BOT_TOKEN/) });
    expect(bad.of('bot sl')).toMatchObject({ status: 'fail', detail: 'Slack refused the token (invalid_auth)', fix: expect.stringMatching(/SLACK_BOT_TOKEN/) });
    expect(bad.of('bot dc intents')).toBeUndefined();
  }, 90_000);

  it('skips (⚠) a bot whose token variable is unset', async () => {
    const { code, of } = await doctor({ linked: true }, {});
    expect(code).toBe(0);
    for (const id of ['tg', 'dc', 'sl']) expect(of(`bot ${id}`)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^skipped: /) });
    expect(of('bot wa')).toMatchObject({ status: 'ok' });
  }, 60_000);

  it('reports admin pages nobody can sign in to, and passes them with a token for a listed identity', async () => {
    const file = path.join(box.sb.root, 'admin.yaml');
    const run = async (yaml: string) => {
      await fsp.writeFile(file, `metrics: { enabled: false }\n${yaml}`);
      const r = await runCli(box.sb, ['--config', file, 'doctor', '--json'], { env: { ADMIN_TOKEN: 'admin-token-for-doctor-0001' } });
      return (JSON.parse(r.stdout) as { checks: CheckResult[] }).checks.find((c) => c.check === 'admin pages');
    };
    expect(await run('admin: { enabled: true }\n')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/identities is empty/) });
    expect(await run('admin: { enabled: true, identities: [ops] }\n')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/no tokens/) });
    expect(await run('admin: { enabled: true, identities: [ops] }\ngateway: { auth: { tokens: { ops: "${ADMIN_TOKEN}" } } }\n')).toMatchObject({ status: 'ok' });
    expect(await run('')).toBeUndefined();
  }, 60_000);
});
