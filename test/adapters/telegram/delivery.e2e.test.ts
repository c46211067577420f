/**
 * Replies on Telegram end to end (real grammY in `bot telegram`, the fake Bot API, the fake
 * OpenAI server as the model): chunking of long replies and code blocks, streaming edits and
 * typing, the plain-text fallback when formatting is rejected, 429 retry_after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '../../helpers/fake-telegram-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../helpers/fake-openai-server.js';
import { startTelegram, stopCli, telegramYaml, until, useTelegram, writeConfig } from './harness.js';

const t = useTelegram();
let model: FakeOpenAI;
const replies = new Map<string, string | { text: string; delayMs: number }>();
beforeAll(async () => {
  model = await startFakeOpenAI({
    responder: (body) => {
      const last = String(body.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '');
      return replies.get(last) ?? `plain answer to ${last}`;
    },
  });
});
afterAll(() => model.close());

const modelEnv = () => ({ OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'fake-key-for-tests', BOT_MODEL: 'fake-model' });
const USER = { id: 3030, username: 'carol' };
const dm = { id: USER.id, type: 'private' as const };
const top = 'agents: { assistant: { model: "${BOT_MODEL}" } }';

const codeOf = (html: string) => [...html.matchAll(/<pre><code[^>]*>([\s\S]*?)<\/code><\/pre>/g)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));

describe('bot telegram: delivery', () => {
  it('a long reply with a 10k-character code block and emoji arrives in valid chunks that never split the code', async () => {
    const code = Array.from({ length: 260 }, (_, i) => `if (a[${i}] < b && c > d) { emit("row ${i} 👍🏽"); }`).join('\n');
    expect(code.length).toBeGreaterThan(10_000);
    const emojiTail = '🇺🇦👨‍👩‍👧‍👦 '.repeat(400);
    const text = `Here is **the code** you asked for:\n\n\`\`\`js\n${code}\n\`\`\`\n\nAnd some *emoji*: ${emojiTail}`;
    replies.set('give me code', text);
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top }));
    const cli = await startTelegram(t.sb, [], modelEnv());
    t.fake.userSays({ chat: dm, from: USER, text: 'give me code' });
    await until('the emoji tail', () => t.fake.messages(USER.id).some((m) => m.visible.includes('And some emoji')), 30_000);
    const msgs = t.fake.messages(USER.id);
    expect(msgs.length).toBeGreaterThanOrEqual(4);
    for (const m of msgs) {
      expect(m.parseMode).toBe('HTML');
      expect(m.visible.length).toBeLessThanOrEqual(4096);
      expect('error' in parseTelegramHtml(m.text)).toBe(false);
      expect(/[\uD800-\uDBFF]$/.test(m.visible) || /^[\uDC00-\uDFFF]/.test(m.visible)).toBe(false);
    }
    // The code comes back whole and in order from the pieces; Telegram never rejected a chunk.
    expect(msgs.flatMap((m) => codeOf(m.text)).join('\n')).toBe(code);
    expect(t.fake.calls.filter((c) => c.status === 400)).toEqual([]);
    expect(msgs.at(-1)!.visible.replace(/\s/g, '').endsWith(emojiTail.replace(/\s/g, '').slice(-40))).toBe(true);
    await stopCli(cli);
  });

  it('streams by throttled edits (≥ the configured interval apart) with typing renewed, then the final text', async () => {
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    replies.set('stream please', { text: words, delayMs: 80 });
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top, entry: { stream_edit_interval_ms: 500, typing_interval_ms: 300 } }));
    const cli = await startTelegram(t.sb, [], modelEnv());
    t.fake.userSays({ chat: dm, from: USER, text: 'stream please' });
    const done = await until('final text', () => t.fake.messages(USER.id).find((m) => m.visible === words), 20_000);
    const edits = t.fake.callsOf('editMessageText').filter((c) => c.params.message_id === done.messageId);
    const first = t.fake.callsOf('sendMessage').find((c) => c.params.chat_id === USER.id)!;
    // ~2.4 s of streaming at ≤ 1 edit / 500 ms: a few edits (at most one per interval, plus the
    // final), never two within the interval.
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.length).toBeLessThanOrEqual(Math.floor((edits.at(-1)!.at - first.at) / 500) + 2);
    const times = [first.at, ...edits.map((e) => e.at)];
    for (let i = 1; i < times.length - 1; i++) expect(times[i]! - times[i - 1]!, `preview updates at ${times.map((x) => x - times[0]!).join(', ')} ms`).toBeGreaterThanOrEqual(490);
    // One message: the preview became the answer.
    expect(t.fake.messages(USER.id)).toHaveLength(1);
    const typing = t.fake.callsOf('sendChatAction').filter((c) => c.params.chat_id === USER.id);
    expect(typing.length).toBeGreaterThanOrEqual(3);
    // Typing stops with the reply (a call already on the wire may still land: settle first).
    await new Promise((r) => setTimeout(r, 400));
    const count = t.fake.callsOf('sendChatAction').filter((c) => c.params.chat_id === USER.id).length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(t.fake.callsOf('sendChatAction').filter((c) => c.params.chat_id === USER.id).length).toBe(count);
    await stopCli(cli);
  });

  it('"can\'t parse entities" → the reply is sent as plain text instead of vanishing', async () => {
    replies.set('format me', 'This is **bold** and `code`.');
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top }));
    const cli = await startTelegram(t.sb, [], modelEnv());
    t.fake.rejectFormatting(100);
    t.fake.userSays({ chat: dm, from: USER, text: 'format me' });
    const m = await until('plain reply', () => t.fake.messages(USER.id).find((x) => x.visible === 'This is bold and code.' && x.parseMode === undefined), 15_000);
    expect(m.text).toBe('This is bold and code.');
    expect(t.fake.calls.some((c) => c.status === 400 && /can't parse entities/.test(c.description ?? ''))).toBe(true);
    expect(cli.stderr()).toMatch(/rejected the formatting; (sending|showing) the reply as plain text/);
    await stopCli(cli);
  });

  it('429 Too Many Requests: waits retry_after, then sends', async () => {
    replies.set('rate me', 'answer after the limit');
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top, entry: { stream_edit_interval_ms: 5000 } }));
    const cli = await startTelegram(t.sb, [], modelEnv());
    t.fake.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } }, 2);
    t.fake.userSays({ chat: dm, from: USER, text: 'rate me' });
    await until('reply after 429', () => t.fake.messages(USER.id).find((m) => m.visible === 'answer after the limit'), 20_000);
    const sends = t.fake.callsOf('sendMessage');
    expect(sends.slice(0, 3).map((c) => c.status)).toEqual([429, 429, 200]);
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(950);
    expect(sends[2]!.at - sends[1]!.at).toBeGreaterThanOrEqual(950);
    expect(cli.stderr()).toMatch(/rate limit \(429\): waiting retry_after/);
    // Only one message: the retried send was not duplicated.
    expect(t.fake.messages(USER.id)).toHaveLength(1);
    await stopCli(cli);
  });

  it('SIGTERM while a turn runs: polling stops, the turn finishes, its reply is sent, exit 0', async () => {
    replies.set('slow one', { text: 'finished after the signal', delayMs: 700 });
    await writeConfig(t.sb, telegramYaml({ apiRoot: t.fake.url, top }));
    const cli = await startTelegram(t.sb, [], modelEnv());
    const before = model.requests.length;
    t.fake.userSays({ chat: dm, from: USER, text: 'slow one' });
    await until('the model call started', () => model.requests.length > before);
    const killedAt = Date.now();
    cli.proc.kill('SIGTERM');
    const done = await cli.exited(20_000);
    expect(done.code, done.stderr).toBe(0);
    expect(t.fake.messages(USER.id).some((m) => m.visible === 'finished after the signal')).toBe(true);
    expect(done.stderr).toMatch(/stopping — finishing turns in flight/);
    // No new poll once the stop began: no update is taken that could no longer be answered.
    expect(t.fake.callsOf('getUpdates').filter((c) => c.at > killedAt + 100)).toEqual([]);
  });
});
