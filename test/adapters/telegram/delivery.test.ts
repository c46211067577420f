/**
 * The host's streaming delivery over Telegram's outbound, with an object-literal Bot API built by
 * hand: throttled preview edits, the final replacing the preview, duplicate results, the plain
 * fallback, failures, typing stop, group migration.
 */
import { describe, expect, it } from 'vitest';
import { encodeAddress } from '../../../adapters/telegram/address.js';
import { telegramOutbound } from '../../../adapters/telegram/outbound.js';
import type { SendApi } from '../../../adapters/telegram/send.js';
import type { TurnRequest } from '../../../src/core/turn-queue.js';
import { StreamingDelivery } from '../../../src/host/streaming-delivery.js';

interface Call {
  method: string;
  chat?: number | string;
  text?: string;
  messageId?: number;
  parseMode?: string;
  replyTo?: number;
  at: number;
}

function fakeApi(options: { rejectHtml?: boolean; migratedFrom?: number } = {}) {
  const calls: Call[] = [];
  let next = 100;
  const api = {
    async sendMessage(_chat: number | string, text: string, other?: { parse_mode?: string; reply_parameters?: { message_id: number } }) {
      if (options.rejectHtml && other?.parse_mode) throw Object.assign(new Error('400'), { error_code: 400, description: "Bad Request: can't parse entities: x" });
      if (_chat === options.migratedFrom) throw Object.assign(new Error('400'), { error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: -100_777 } });
      calls.push({ method: 'sendMessage', chat: _chat, text, parseMode: other?.parse_mode, replyTo: other?.reply_parameters?.message_id, at: Date.now() });
      return { message_id: ++next };
    },
    async editMessageText(_chat: number | string, messageId: number, text: string, other?: { parse_mode?: string }) {
      calls.push({ method: 'editMessageText', text, messageId, parseMode: other?.parse_mode, at: Date.now() });
      return true;
    },
    async sendChatAction() {
      calls.push({ method: 'sendChatAction', at: Date.now() });
      return true;
    },
  } as unknown as SendApi;
  return { api, calls };
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const request = (messageId = '42:7', isDirect = true): TurnRequest => {
  const [chat, message] = messageId.split(':').map(Number) as [number, number];
  return {
    sessionId: 'bot_telegram_42',
    agent: 'assistant',
    inbound: {
      platform: 'telegram', botId: 'tg', chatId: String(chat), userId: '42', messageId, text: 'q', isDirect, mentionsBot: false, receivedAt: 0,
      address: encodeAddress({ chatId: chat, ...(isDirect ? {} : { replyToMessageId: message }) }),
    },
  };
};

/** Telegram's delivery as the host builds it. */
function telegramDelivery(o: { api: SendApi; logger: typeof quiet; parseMode: 'html' | 'plain'; editIntervalMs?: number; typingIntervalMs?: number }) {
  return new StreamingDelivery({
    outbound: telegramOutbound(o),
    capabilities: { edits: true, typing: true, editIntervalMs: o.editIntervalMs ?? 1000, typingIntervalMs: o.typingIntervalMs ?? 4000 },
    logger: o.logger,
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('streaming delivery on Telegram', () => {
  it('previews at once, edits at most once per interval with the latest text, then the final replaces the preview', async () => {
    const { api, calls } = fakeApi();
    const d = telegramDelivery({ api, logger: quiet, parseMode: 'html', editIntervalMs: 200, typingIntervalMs: 10_000 });
    const r = request();
    const t0 = Date.now();
    d.ingested(r);
    for (let i = 1; i <= 20; i++) {
      d.partial(r, `word `.repeat(i));
      await sleep(25);
    }
    await d.final({ request: r, reply: '**done**', cursor: 2, duplicate: false });
    const sends = calls.filter((c) => c.method === 'sendMessage');
    const edits = calls.filter((c) => c.method === 'editMessageText');
    expect(sends).toHaveLength(1);
    // ~500 ms of partials at one edit per 200 ms (at most one per interval), plus the final edit.
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.length).toBeLessThanOrEqual(Math.floor((Date.now() - t0) / 200) + 2);
    for (let i = 1; i < edits.length - 1; i++) expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(190);
    expect(edits.at(-1)).toMatchObject({ text: '<b>done</b>', parseMode: 'HTML', messageId: 101 });
    // Late partials of a finished reply change nothing.
    d.partial(r, 'late');
    await sleep(250);
    expect(calls.filter((c) => c.method !== 'sendChatAction')).toHaveLength(sends.length + edits.length);
  });

  it('a long final: first chunk into the preview, the rest as new messages; in groups the first quotes the question', async () => {
    const { api, calls } = fakeApi();
    const d = telegramDelivery({ api, logger: quiet, parseMode: 'html', editIntervalMs: 10 });
    const r = request('-100:9', false);
    const long = Array.from({ length: 3 }, (_, i) => `${String(i)}${'x'.repeat(3000)}`).join('\n\n');
    await d.final({ request: r, reply: long, cursor: 2, duplicate: false });
    const sends = calls.filter((c) => c.method === 'sendMessage');
    expect(sends.map((c) => c.text!.slice(0, 1))).toEqual(['0', '1', '2']);
    expect(sends.map((c) => c.replyTo)).toEqual([9, undefined, undefined]);
  });

  it('a duplicate result of a reply already delivered here is not sent again; one not delivered here is', async () => {
    const { api, calls } = fakeApi();
    const d = telegramDelivery({ api, logger: quiet, parseMode: 'html' });
    await d.final({ request: request('42:1'), reply: 'one', cursor: 2, duplicate: false });
    await d.final({ request: request('42:1'), reply: 'one', cursor: 2, duplicate: true });
    await d.final({ request: request('42:2'), reply: 'two (stored)', cursor: 4, duplicate: true });
    expect(calls.filter((c) => c.method === 'sendMessage').map((c) => c.text)).toEqual(['one', 'two (stored)']);
  });

  it('formatting rejected → the same reply in plain text; failures are sent plain', async () => {
    const { api, calls } = fakeApi({ rejectHtml: true });
    const d = telegramDelivery({ api, logger: quiet, parseMode: 'html' });
    await d.final({ request: request('42:3'), reply: 'a **b** c', cursor: 2, duplicate: false });
    await d.failed(request('42:4'), 'Sorry, the model is unavailable.');
    expect(calls.map((c) => [c.text, c.parseMode])).toEqual([
      ['a b c', undefined],
      ['Sorry, the model is unavailable.', undefined],
    ]);
  });

  it('typing starts once, renews, and stops with the reply (also when started after it finished)', async () => {
    const { api, calls } = fakeApi();
    const d = telegramDelivery({ api, logger: quiet, parseMode: 'html', typingIntervalMs: 50 });
    const r = request('42:5');
    d.ingested(r);
    d.started(r);
    await sleep(180);
    await d.final({ request: r, reply: 'ok', cursor: 2, duplicate: false });
    const typed = calls.filter((c) => c.method === 'sendChatAction').length;
    expect(typed).toBeGreaterThanOrEqual(3);
    expect(typed).toBeLessThanOrEqual(5);
    d.started(r);
    await sleep(150);
    expect(calls.filter((c) => c.method === 'sendChatAction').length).toBe(typed);
  });

  it('a group upgraded to a supergroup: the reply goes to the new chat id', async () => {
    const { api, calls } = fakeApi({ migratedFrom: -55 });
    const d = telegramDelivery({ api, logger: quiet, parseMode: 'html' });
    const r = request('-55:3', false);
    r.inbound.chatId = '-55';
    await d.final({ request: r, reply: 'still here', cursor: 2, duplicate: false });
    expect(calls.filter((c) => c.method === 'sendMessage').map((c) => [c.chat, c.text])).toEqual([[-100_777, 'still here']]);
  });
});
