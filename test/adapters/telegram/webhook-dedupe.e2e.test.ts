/**
 * Webhook mode (secret check, T22; ack before the turn runs, T23) and duplicate updates (one
 * turn, one model call, one reply, T20), end to end with `bot telegram`.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../helpers/distributed-harness.js';
import { FAKE_TOKEN, postJson } from '../../helpers/fake-telegram-server.js';
import { defaultFakeResponder, startFakeOpenAI, type FakeOpenAI } from '../../helpers/fake-openai-server.js';
import { listTree, runCli } from '../../helpers/run-cli.js';
import { replyMatching, sleep, startTelegram, stopCli, telegramYaml, until, useTelegram, writeConfig } from './harness.js';

const t = useTelegram();
let model: FakeOpenAI;
beforeAll(async () => {
  model = await startFakeOpenAI();
});
afterAll(() => model.close());
const modelEnv = () => ({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'fake-key-for-tests', BOT_MODEL: 'fake-model' });
const top = 'agents: { assistant: { model: "${BOT_MODEL}" } }';
const SECRET = 'wh-Secret_0123456789';
const USER = { id: 6060, username: 'dave' };
const dm = { id: USER.id, type: 'private' as const };

function update(updateId: number, messageId: number, text: string) {
  return { update_id: updateId, message: { message_id: messageId, date: 0, chat: { id: USER.id, type: 'private', first_name: 'D' }, from: { id: USER.id, is_bot: false, first_name: 'D', username: 'dave' }, text } };
}

const modelCallsWith = (text: string) => model.requests.filter((r) => JSON.stringify(r.body?.messages?.at(-1) ?? '').includes(text)).length;

describe('bot telegram: webhook mode', () => {
  it('registers the webhook with its secret; wrong or missing secret → 401 and nothing enqueued; the right one is answered', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/tg/hook`;
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top, entry: { mode: 'webhook' } }).replace('    mode: webhook', `    mode: webhook\n    webhook: { url: "${url}", secret: ${SECRET}, port: ${port} }`));
    const cli = await startTelegram(t.sb, [], modelEnv());
    expect(t.fake.webhook).toEqual({ url, secret: SECRET });
    expect(t.fake.callsOf('setWebhook')[0]!.params.secret_token).toBe(SECRET);
    expect(t.fake.callsOf('getUpdates')).toHaveLength(0);

    const before = model.requests.length;
    expect(await postJson(url, update(1, 1, 'forged, no secret'))).toBe(401);
    expect(await postJson(url, update(2, 2, 'forged, wrong secret'), { 'X-Telegram-Bot-Api-Secret-Token': `${SECRET}x` })).toBe(401);
    expect(await postJson(url, update(3, 3, 'forged, short secret'), { 'X-Telegram-Bot-Api-Secret-Token': SECRET.slice(0, -1) })).toBe(401);
    expect(await postJson(`http://127.0.0.1:${port}/elsewhere`, update(4, 4, 'x'), { 'X-Telegram-Bot-Api-Secret-Token': SECRET })).toBe(404);
    expect(await postJson(url, { not: 'an update' }, { 'X-Telegram-Bot-Api-Secret-Token': SECRET })).toBe(400);

    // The fake delivers real updates to the webhook with the secret.
    t.fake.userSays({ chat: dm, from: USER, text: 'via webhook' });
    await until('webhook reply', () => replyMatching(t.fake, USER.id, /via webhook/));
    await sleep(300);
    expect(model.requests.length - before).toBe(1);
    expect(t.fake.messages(USER.id)).toHaveLength(1);
    expect([...t.fake.webhookAttempts.values()].flat()).toEqual([200]);
    expect(cli.stderr()).toMatch(/wrong or missing secret token refused \(401\)/);
    const sessions = await listTree(t.sb.sessionsDir);
    expect(sessions.join('\n')).not.toMatch(/forged/);
    const output = await stopCli(cli);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(FAKE_TOKEN);
  });
});

describe('bot telegram: webhook acks (T23) and concurrent duplicates (T20)', () => {
  it('acks every update in well under a second while the model takes 30 s; the same update posted 3× at once runs one turn', async () => {
    model.setResponder(() => ({ text: 'slow answer', delayMs: 30_000 }));
    onTestFinished(() => model.setResponder(defaultFakeResponder));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top, entry: { mode: 'webhook' } }).replace('    mode: webhook', `    mode: webhook\n    webhook: { url: "${url}", secret: ${SECRET}, port: ${port} }`));
    const cli = await startTelegram(t.sb, [], modelEnv());
    const header = { 'X-Telegram-Bot-Api-Secret-Token': SECRET };
    const before = model.requests.length;
    const acks: number[] = [];
    // Fewer slow sessions than the inline queue runs at once (8), so the duplicate below is not queued behind them.
    for (let i = 0; i < 6; i++) {
      const t0 = Date.now();
      expect(await postJson(url, { ...update(9000 + i, 900 + i, `slow ${i}`), message: { ...update(9000 + i, 900 + i, `slow ${i}`).message, chat: { id: 7000 + i, type: 'private' }, from: { id: 7000 + i, is_bot: false, first_name: 'S' } } }, header)).toBe(200);
      acks.push(Date.now() - t0);
    }
    expect(Math.max(...acks)).toBeLessThan(1000);
    // Three concurrent deliveries of one update: one turn, one model call.
    const same = update(9100, 999, 'posted thrice at once');
    expect(await Promise.all([postJson(url, same, header), postJson(url, same, header), postJson(url, same, header)])).toEqual([200, 200, 200]);
    await until('its model call', () => modelCallsWith('posted thrice at once') >= 1);
    await sleep(500);
    expect(modelCallsWith('posted thrice at once')).toBe(1);
    // The slow turns are still running (inline queue, 8 at a time): acks never waited for them.
    expect(model.requests.length - before).toBe(7);
    expect(t.fake.messages(USER.id)).toEqual([]);
    cli.proc.kill('SIGKILL');
  });
});

describe('bot telegram: duplicate updates', () => {
  it('the same update three times (and the same message in a new update) gives one turn, one model call, one reply', async () => {
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top }));
    let cli = await startTelegram(t.sb, [], modelEnv());
    t.fake.pushUpdate(update(5000, 77, 'only once please'));
    t.fake.pushUpdate(update(5000, 77, 'only once please'));
    t.fake.pushUpdate(update(5001, 77, 'only once please'));
    await until('reply', () => replyMatching(t.fake, USER.id, /only once please/));
    await sleep(800);
    expect(modelCallsWith('only once please')).toBe(1);
    expect(t.fake.messages(USER.id)).toHaveLength(1);

    // Redelivered after a restart (the in-process memory is gone): the commit is idempotent, so
    // still no second model call and no second history entry.
    await stopCli(cli);
    cli = await startTelegram(t.sb, [], modelEnv());
    t.fake.pushUpdate(update(5002, 77, 'only once please'));
    t.fake.userSays({ chat: dm, from: USER, text: 'next one' });
    await until('next reply', () => replyMatching(t.fake, USER.id, /next one/));
    await sleep(500);
    expect(modelCallsWith('only once please')).toBe(1);
    const show = await runCli(t.sb, ['session', 'show', 'bot_telegram_6060', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const users = JSON.parse(show.stdout).entries.filter((e: { role: string }) => e.role === 'user').map((e: { content: string }) => e.content);
    expect(users).toEqual(['only once please', 'next one']);
    // The new process cannot know the first one sent the stored reply, so it may send it once
    // more (at-least-once delivery); never a new model answer.
    expect(t.fake.messages(USER.id).filter((m) => /only once please/.test(m.visible)).length).toBeLessThanOrEqual(2);
    expect(new Set(t.fake.messages(USER.id).filter((m) => /only once please/.test(m.visible)).map((m) => m.visible)).size).toBe(1);
    await stopCli(cli);
  });
});
