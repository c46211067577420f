/**
 * `/metrics` of a real `bot start` process running a Telegram bot against the fake Bot API
 * (embedded mode, echo model): inbound outcomes, turns, sends and the commit and delivery stages
 * move by exactly the traffic sent.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TOKEN, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram-server.js';
import { metricsUrlIn, sampleValue, scrape } from '../helpers/prometheus-text.js';
import { startCli, useSandbox } from '../helpers/run-cli.js';
import { waitFor } from '../helpers/wait-for.js';

const box = useSandbox();
let telegram: FakeTelegram;
beforeAll(async () => {
  telegram = await startFakeTelegram();
});
afterAll(() => telegram.close());

describe('bot start /metrics', () => {
  it('counts inbound messages by outcome, turns, and sends of one Telegram bot', async () => {
    const yaml = [
      'metrics: { port: 0 }',
      'bots:',
      `  - { platform: telegram, token: "\${TELEGRAM_BOT_TOKEN}", api_root: "${telegram.url}", poll_timeout_s: 1, stream_edit_interval_ms: 150, typing_interval_ms: 300 }`,
      '',
    ].join('\n');
    await fsp.writeFile(path.join(box.sb.cwd, 'bots.yaml'), yaml);
    const cli = startCli(box.sb, ['start'], { env: { TELEGRAM_BOT_TOKEN: FAKE_TOKEN }, timeoutMs: 60_000 });
    await cli.waitForStderr(/telegram bot|telegram: running/, { timeoutMs: 20_000 });
    // The metrics listener is announced once it listens, which may be after the bot started.
    await cli.waitForStderr(/metrics on http:/, { timeoutMs: 20_000 });
    const url = metricsUrlIn(cli.stderr());
    expect(url, cli.stderr()).toBeDefined();

    const chats = [9101, 9102, 9103];
    for (const id of chats) telegram.userSays({ chat: { id, type: 'private' }, from: { id }, text: `hello from ${id}` });
    const helpUpdate = telegram.userSays({ chat: { id: 9104, type: 'private' }, from: { id: 9104 }, text: '/help' });
    await waitFor('three replies and the /help answer', () => [...chats, 9104].every((id) => telegram.messages(id).length >= 1), { explain: () => cli.stderr() });
    // The same update delivered again: dropped by ingress as a duplicate.
    const { update_id: _, ...again } = telegram.update(helpUpdate)!;
    telegram.pushUpdate(again);
    await waitFor('the redelivery counted', async () => sampleValue((await scrape(url!)).samples, 'bothost_inbound_total', { outcome: 'duplicate' }) === 1, { explain: () => cli.stderr() });

    const { text, samples } = await scrape(url!);
    const inbound = (outcome: string) => sampleValue(samples, 'bothost_inbound_total', { platform: 'telegram', bot: 'telegram', outcome });
    expect([inbound('enqueued'), inbound('command'), inbound('duplicate'), inbound('denied')]).toEqual([3, 1, 1, 0]);
    expect(sampleValue(samples, 'bothost_turns_total', { agent: 'assistant', outcome: 'ok' })).toBe(3);
    expect(sampleValue(samples, 'bothost_turn_duration_seconds_count', { agent: 'assistant', stage: 'model' })).toBe(3);
    // One send per reply (a streamed preview is edited into the final text) and one for /help.
    await waitFor('four sends', async () => sampleValue((await scrape(url!)).samples, 'bothost_sends_total', { platform: 'telegram', bot: 'telegram', outcome: 'ok' }) === 4, { explain: async () => (await scrape(url!)).text });
    // Each reply's delivery (committed → sent) and commit are timed in this embedded process too.
    const stage = async (name: string) => sampleValue((await scrape(url!)).samples, 'bothost_turn_duration_seconds_count', { agent: 'assistant', stage: name });
    await waitFor('three deliveries timed', async () => (await stage('delivery')) === 3, { explain: async () => (await scrape(url!)).text.split('\n').filter((l) => l.includes('_count')).join('\n') });
    expect(await stage('commit')).toBe(3);
    for (const id of [...chats, 9104]) expect(text).not.toContain(String(id));
    expect(text).not.toMatch(/bot_telegram_/);

    cli.proc.kill('SIGTERM');
    const done = await cli.exited(10_000);
    expect(done.code, done.stderr).toBe(0);
    expect(done.all).not.toContain(FAKE_TOKEN);
  });
});
