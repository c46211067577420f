/**
 * The adapter seam from object literals (STYLE principle 2): createTelegramAdapter with a host
 * built by hand, real grammY against the fake Bot API in-process. start/stop are idempotent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramAdapter, TelegramAdapterConfig } from '../../../adapters/telegram/index.js';
import type { AdapterHost, BotPolicy } from '../../../src/core/adapter.js';
import type { InboundMessage } from '../../../src/core/inbound.js';
import type { Delivery } from '../../../src/core/turn-queue.js';
import { FAKE_TOKEN, startFakeTelegram, type FakeTelegram } from '../../helpers/fake-telegram-server.js';

let fake: FakeTelegram;
beforeEach(async () => {
  fake = await startFakeTelegram();
});
afterEach(() => fake.close());

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const until = async (check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

function config(extra: Record<string, unknown> = {}) {
  return TelegramAdapterConfig.parse({
    platform: 'telegram', id: 'tg', agent: 'assistant', enabled: true, token: FAKE_TOKEN, allowed_users: [],
    unknown_user_policy: 'allow', group_policy: 'mention_only', api_root: fake.url, poll_timeout_s: 1, ...extra,
  });
}

describe('createTelegramAdapter (host from object literals)', () => {
  it('feeds normalized messages to ingest with the bot policy, registers its delivery, sends replies; start/stop twice are safe', async () => {
    const seen: Array<{ bot: BotPolicy; message: InboundMessage }> = [];
    let delivery: Delivery | undefined;
    const host: AdapterHost = {
      async ingest(bot, message, reply) {
        seen.push({ bot, message });
        if (message.text === '/ping') {
          await reply('pong');
          return 'command';
        }
        return 'enqueued';
      },
      delivery: { register: (_id, d) => ((delivery = d), () => undefined) },
      logger: quiet,
      commands: { ping: 'answer pong' },
      scope: 'per_user',
    };
    const adapter = createTelegramAdapter(config(), host);
    const first = adapter.start();
    expect(adapter.start()).toBe(first);
    await first;
    expect(adapter.account).toBe('@test_bot');
    expect(fake.callsOf('setMyCommands')[0]!.params.commands).toEqual([{ command: 'ping', description: 'answer pong' }]);

    fake.userSays({ chat: { id: 9, type: 'private' }, from: { id: 9, username: 'ivy' }, text: 'hello there' });
    fake.userSays({ chat: { id: 9, type: 'private' }, from: { id: 9, username: 'ivy' }, text: '/ping' });
    await until(() => seen.length === 2 && fake.messages(9).length === 1);
    expect(seen[0]!.bot).toMatchObject({ id: 'tg', platform: 'telegram', agent: 'assistant', username: 'test_bot', groupPolicy: 'mention_only' });
    expect(seen[0]!.message).toMatchObject({ platform: 'telegram', botId: 'tg', chatId: '9', userId: '9', text: 'hello there', isDirect: true, userName: 'ivy' });
    expect(fake.messages(9)[0]!.visible).toBe('pong');

    // The registered delivery answers the enqueued message on Telegram.
    await delivery!.final({ request: { sessionId: 'bot_telegram_9', agent: 'assistant', inbound: seen[0]!.message }, reply: 'hi **ivy**', cursor: 2, duplicate: false });
    expect(fake.messages(9).at(-1)).toMatchObject({ text: 'hi <b>ivy</b>', parseMode: 'HTML' });

    const stop = adapter.stop();
    expect(adapter.stop()).toBe(stop);
    await stop;
    const polls = fake.callsOf('getUpdates').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.callsOf('getUpdates').length).toBe(polls);
    await expect(adapter.start()).rejects.toMatchObject({ code: 'ADAPTER_STOPPED' });
  });

  it('stop() during a start that is still retrying ends it (ADAPTER_STOPPED), promptly', async () => {
    const adapter = createTelegramAdapter(config({ api_root: 'http://127.0.0.1:1' }), {
      ingest: async () => undefined,
      delivery: { register: () => () => undefined },
      logger: quiet,
      commands: {},
      scope: 'per_user',
    });
    const started = adapter.start();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await adapter.stop();
    await expect(started).rejects.toMatchObject({ code: 'ADAPTER_STOPPED' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('leader: redis without any Redis is a config error', () => {
    expect(() =>
      createTelegramAdapter(config({ leader: 'redis' }), { ingest: async () => undefined, delivery: { register: () => () => undefined }, logger: quiet, commands: {}, scope: 'per_user' }),
    ).toThrow(/leader: redis but no Redis is configured/);
  });

  it('which leadership is used: auto takes a configured Redis only; redis also takes REDIS_URL; none never; webhooks never', () => {
    const opened: string[] = [];
    const source = (configured: boolean) => ({
      configured,
      describe: configured ? 'bots.yaml redis' : 'REDIS_URL',
      open: (o?: { ttlMs?: number }) => {
        opened.push(`${configured ? 'yaml' : 'env'}:${o?.ttlMs}`);
        return { describe: 'x', acquire: async () => null };
      },
    });
    const host = (configured: boolean): AdapterHost => ({ ingest: async () => undefined, delivery: { register: () => () => undefined }, logger: quiet, commands: {}, scope: 'per_user', leadership: source(configured) });
    createTelegramAdapter(config({ leader: 'auto' }), host(false));
    expect(opened).toEqual([]);
    createTelegramAdapter(config({ leader: 'auto', leader_ttl_ms: 1234 }), host(true));
    expect(opened).toEqual(['yaml:1234']);
    createTelegramAdapter(config({ leader: 'redis' }), host(false));
    expect(opened).toEqual(['yaml:1234', 'env:10000']);
    createTelegramAdapter(config({ leader: 'none' }), host(true));
    createTelegramAdapter(config({ mode: 'webhook', webhook: { url: 'https://bot.example/tg', secret: 'abc' } }), host(true));
    expect(opened).toHaveLength(2);
  });
});
