/** The adapter conformance suite's view of Telegram: the fake Bot API, long polling. */
import type { FixtureEvent, PlatformFixture, PostedMessage } from '../contract/platform-fixture.js';
import { FAKE_TOKEN, startFakeTelegram, type FakeTelegram } from './fake-telegram-server.js';

interface TelegramEvent extends FixtureEvent {
  updateId: number;
  chatId: number;
}

export function telegramFixture(): PlatformFixture {
  let fake: FakeTelegram | undefined;
  const api = () => {
    if (!fake) throw new Error('the fake Bot API is not started');
    return fake;
  };
  const say = (chatId: number, user: string, text: string, type: 'private' | 'supergroup'): TelegramEvent => {
    const updateId = api().userSays({ chat: { id: chatId, type }, from: { id: Number(user) }, text });
    const message = api().update(updateId)!.message as { message_id: number };
    return { updateId, chatId, messageId: `${chatId}:${message.message_id}`, conversation: String(chatId) };
  };
  return {
    platform: 'telegram',
    ready: /telegram bot @test_bot running/,
    async start() {
      fake = await startFakeTelegram();
    },
    async close() {
      await fake?.close();
      fake = undefined;
    },
    entry: () => ({ api_root: api().url, poll_timeout_s: 1, stream_edit_interval_ms: 150, typing_interval_ms: 300 }),
    env: () => ({ TELEGRAM_BOT_TOKEN: FAKE_TOKEN }),
    secrets: () => [FAKE_TOKEN, FAKE_TOKEN.split(':')[1]!],
    user: (n) => String(5000 + n),
    direct: async (user, text) => say(Number(user), user, text, 'private'),
    group: async (user, text, { mention }) => say(-100_700, user, mention ? `@test_bot ${text}` : text, 'supergroup'),
    async redeliver(event) {
      const { update_id: _, ...again } = api().update((event as TelegramEvent).updateId)!;
      api().pushUpdate(again);
    },
    acked: (event) => api().confirmedBelow > (event as TelegramEvent).updateId,
    posted(event): PostedMessage[] {
      const chatId = (event as TelegramEvent).chatId;
      const ok = (method: string) => api().callsOf(method).filter((c) => c.status === 200 && Number(c.params.chat_id) === chatId);
      const sends = ok('sendMessage');
      const edits = ok('editMessageText');
      return api()
        .messages(chatId)
        .map((m, i) => ({
          text: m.text,
          postedAt: sends[i]?.at ?? 0,
          editedAt: edits.filter((e) => Number(e.params.message_id) === m.messageId).map((e) => e.at),
        }));
    },
    typing: (event) => api().callsOf('sendChatAction').filter((c) => Number(c.params.chat_id) === (event as TelegramEvent).chatId).map((c) => c.at),
    wellFormed: (text) => (text.match(/<pre>/g) ?? []).length === (text.match(/<\/pre>/g) ?? []).length,
    length: (text) => text.length,
  };
}
