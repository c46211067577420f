/** The adapter conformance suite's view of Discord: the fake REST + gateway, the real discord.js inside `bot discord`. */
import type { FixtureEvent, PlatformFixture, PostedMessage } from '../contract/platform-fixture.js';
import { FAKE_DISCORD_TOKEN, GENERAL_CHANNEL_ID, startFakeDiscord, type FakeDiscord } from './fake-discord-server.js';

interface DiscordEvent extends FixtureEvent {
  channelId: string;
}

export function discordFixture(): PlatformFixture {
  let fake: FakeDiscord | undefined;
  const api = () => {
    if (!fake) throw new Error('the fake Discord is not started');
    return fake;
  };
  const user = (id: string) => ({ id, username: `user${id.slice(-4)}` });
  return {
    platform: 'discord',
    ready: /discord bot @bothost-test running/,
    async start() {
      fake = await startFakeDiscord();
    },
    async close() {
      await fake?.close();
      fake = undefined;
    },
    // Edits stay at Discord's one per second per reply (the schema's floor); typing is fast.
    entry: () => ({ api_root: api().url, typing_interval_ms: 300, slash_commands: false }),
    env: () => ({ DISCORD_BOT_TOKEN: FAKE_DISCORD_TOKEN }),
    secrets: () => [FAKE_DISCORD_TOKEN, FAKE_DISCORD_TOKEN.split('.')[1]!],
    user: (n) => String(1_300_000_000_000_000_000n + BigInt(n)),
    async direct(id, text) {
      const messageId = api().dm(user(id), text);
      const channelId = api().dmChannelOf(id);
      return { messageId, channelId, conversation: channelId } satisfies DiscordEvent;
    },
    async group(id, text, { mention }) {
      const messageId = api().guildMessage(user(id), text, { mention });
      return { messageId, channelId: GENERAL_CHANNEL_ID, conversation: GENERAL_CHANNEL_ID } satisfies DiscordEvent;
    },
    async redeliver(event) {
      const payload = api().eventOf(event.messageId);
      if (!payload) throw new Error(`no MESSAGE_CREATE for ${event.messageId}`);
      api().dispatch('MESSAGE_CREATE', payload);
    },
    // The gateway has no acknowledgements.
    acked: () => undefined,
    posted: (event): PostedMessage[] =>
      api()
        .messages((event as DiscordEvent).channelId)
        .map((m) => ({ text: m.content, postedAt: m.createdAt, editedAt: [...m.editedAt] })),
    typing: (event) => api().typing.filter((t) => t.channelId === (event as DiscordEvent).channelId).map((t) => t.at),
    wellFormed: (text) => (text.match(/```/g) ?? []).length % 2 === 0,
    // Discord counts code points.
    length: (text) => [...text].length,
  };
}
