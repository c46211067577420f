/**
 * The adapter seam from object literals: createTelegramAdapter with a host
 * built by hand, real grammY against the fake Bot API in-process. start/stop are idempotent; a
 * `retry` outcome leaves the update unconfirmed, so Telegram delivers it again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTelegramAdapter } from '../../../adapters/telegram/adapter.js';
import { TelegramAdapterConfig } from '../../../adapters/telegram/config.js';
import type { AdapterHost, IngestOptions, IngestOutcome } from '../../../src/core/adapter.js';
import type { InboundMessage } from '../../../src/core/inbound.js';
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


/** A host built by hand: records what it is given, answers `outcome(message)`. */
function literalHost(outcome: (m: InboundMessage) => IngestOutcome = () => 'enqueued') {
  const seen: Array<{ message: InboundMessage; options?: IngestOptions }> = [];
  const events: string[] = [];
  const host: AdapterHost = {
    async ingest(message, options) {
      seen.push({ message, ...(options ? { options } : {}) });
      return outcome(message);
    },
    deliver: () => (events.push('deliver'), () => undefined),
    identify: (account) => events.push(`identify:${account.username}`),
    holdConnection: async (connect, stop) => {
      events.push('hold');
      await connect(stop);
    },
    logger: quiet,
    commands: { ping: 'answer pong' },
  };
  return { host, seen, events };
}

describe('createTelegramAdapter (host from object literals)', () => {
  it('feeds normalized messages to ingest, identifies itself, starts delivery, sends through its outbound; start/stop twice are safe', async () => {
    const { host, seen, events } = literalHost();
    const adapter = createTelegramAdapter(config(), host);
    const first = adapter.start();
    expect(adapter.start()).toBe(first);
    await first;
    expect(adapter.account).toBe('@test_bot');
    expect(events).toEqual(['identify:test_bot', 'deliver', 'hold']);
    expect(fake.callsOf('setMyCommands')[0]!.params.commands).toEqual([{ command: 'ping', description: 'answer pong' }]);

    fake.userSays({ chat: { id: 9, type: 'private' }, from: { id: 9, username: 'ivy' }, text: 'hello there' });
    await until(() => seen.length === 1);
    expect(seen[0]!.message).toMatchObject({ platform: 'telegram', botId: 'tg', chatId: '9', userId: '9', text: 'hello there', isDirect: true, userName: 'ivy' });

    // The outbound answers on Telegram at the message's address.
    const [chunk] = adapter.outbound.render('hi **ivy**', 'markdown');
    await adapter.outbound.send(seen[0]!.message.address!, chunk!, { idempotencyKey: 'k', index: 0 });
    expect(fake.messages(9).at(-1)).toMatchObject({ text: 'hi <b>ivy</b>', parseMode: 'HTML' });

    const stop = adapter.stop();
    expect(adapter.stop()).toBe(stop);
    await stop;
    const polls = fake.callsOf('getUpdates').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.callsOf('getUpdates').length).toBe(polls);
    await expect(adapter.start()).rejects.toMatchObject({ code: 'ADAPTER_STOPPED' });
  });

  it('a forum topic with forum_topics: per_thread is ingested with the per_thread scope', async () => {
    const { host, seen } = literalHost();
    const adapter = createTelegramAdapter(config({ forum_topics: 'per_thread' }), host);
    await adapter.start();
    const forum = { id: -100_5, type: 'supergroup' as const, title: 'f', is_forum: true };
    fake.userSays({ chat: forum, from: { id: 3 }, text: '@test_bot hi', message_thread_id: 11 });
    await until(() => seen.length === 1);
    expect(seen[0]!.options).toEqual({ scope: 'per_thread' });
    await adapter.stop();
  });

  it('retry: the update is not confirmed and comes again; once accepted, the offset moves on', async () => {
    let refuse = 2;
    const { host, seen } = literalHost(() => (refuse-- > 0 ? 'retry' : 'enqueued'));
    const adapter = createTelegramAdapter(config(), host);
    await adapter.start();
    fake.userSays({ chat: { id: 4, type: 'private' }, from: { id: 4 }, text: 'keep me' });
    await until(() => seen.length === 3, 15_000);
    expect(new Set(seen.map((s) => s.message.messageId)).size).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(3);
    await adapter.stop();
  });

  it('stop() during a start that is still retrying ends it (ADAPTER_STOPPED), promptly', async () => {
    const adapter = createTelegramAdapter(config({ api_root: 'http://127.0.0.1:1' }), literalHost().host);
    const started = adapter.start();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await adapter.stop();
    await expect(started).rejects.toMatchObject({ code: 'ADAPTER_STOPPED' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
