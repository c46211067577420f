/**
 * The fixed world of the fake Discord and the JSON shapes it speaks (API v10): the bot user, one
 * guild with a text channel and a thread, snowflake ids, users, messages and interactions as
 * Discord sends them over the gateway.
 */

/** A distinctive fake bot token: tests grep every log line for it. */
export const FAKE_DISCORD_TOKEN = 'fake-discord-bot-token-for-tests-nEvEr-LoG-mE-42';

export const BOT_USER = Object.freeze({ id: '1100000000000000001', username: 'bothost-test', global_name: 'Bothost Test', discriminator: '0', avatar: null, bot: true });
/** The application id equals the bot user id for bots created in the developer portal. */
export const APPLICATION_ID = BOT_USER.id;

export const GUILD_ID = '1200000000000000001';
export const GENERAL_CHANNEL_ID = '1200000000000000010';
export const OTHER_CHANNEL_ID = '1200000000000000011';
export const THREAD_ID = '1200000000000000020';

/** Gateway intents by name (the bits Discord defines). */
export const INTENTS = Object.freeze({ Guilds: 1 << 0, GuildMessages: 1 << 9, DirectMessages: 1 << 12, MessageContent: 1 << 15 });
/** Intents that must be switched on in the developer portal (4014 otherwise). */
export const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | INTENTS.MessageContent;

export const ChannelTypes = Object.freeze({ GuildText: 0, DM: 1, PublicThread: 11 });

const EPOCH = 1_420_070_400_000n;
let increment = 0n;
/** A fresh snowflake (time-ordered, unique within this process). */
export function snowflake(): string {
  increment = (increment + 1n) & 0xfffn;
  return ((BigInt(Date.now()) - EPOCH) << 22n | (1n << 17n) | increment).toString();
}

export interface FakeUser {
  id: string;
  username: string;
}

export function userObject(u: FakeUser): Record<string, unknown> {
  return { id: u.id, username: u.username, global_name: u.username, discriminator: '0', avatar: null };
}

function memberObject(u: FakeUser): Record<string, unknown> {
  return { user: userObject(u), roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0, permissions: '2248473465835073' };
}

export interface ChannelInfo {
  id: string;
  type: number;
  guildId?: string;
  parentId?: string;
}

/** A message as Discord returns it from REST and dispatches it in MESSAGE_CREATE. */
export function messageObject(m: {
  id: string;
  channel: ChannelInfo;
  author: Record<string, unknown>;
  content: string;
  mentions?: FakeUser[];
  reference?: { messageId: string; author?: Record<string, unknown>; content?: string };
  nonce?: string;
  interaction?: { id: string; name: string; user: FakeUser };
  editedAt?: number;
}): Record<string, unknown> {
  return {
    id: m.id,
    channel_id: m.channel.id,
    author: m.author,
    content: m.content,
    timestamp: new Date().toISOString(),
    edited_timestamp: m.editedAt ? new Date(m.editedAt).toISOString() : null,
    tts: false,
    mention_everyone: false,
    mentions: (m.mentions ?? []).map(userObject),
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: m.reference ? 19 : m.interaction ? 20 : 0,
    flags: 0,
    ...(m.nonce !== undefined ? { nonce: m.nonce } : {}),
    ...(m.reference
      ? {
          message_reference: { type: 0, message_id: m.reference.messageId, channel_id: m.channel.id, ...(m.channel.guildId ? { guild_id: m.channel.guildId } : {}) },
          ...(m.reference.author
            ? { referenced_message: { id: m.reference.messageId, channel_id: m.channel.id, author: m.reference.author, content: m.reference.content ?? '', timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false, type: 0, flags: 0 } }
            : {}),
        }
      : {}),
    ...(m.interaction ? { interaction_metadata: { id: m.interaction.id, type: 2, name: m.interaction.name, user: userObject(m.interaction.user), authorizing_integration_owners: {} } } : {}),
  };
}

/** MESSAGE_CREATE's extra gateway fields: `guild_id` + `member` in guilds, `channel_type` always. */
export function messageCreateEvent(message: Record<string, unknown>, channel: ChannelInfo, author: FakeUser | null): Record<string, unknown> {
  return {
    ...message,
    channel_type: channel.type,
    ...(channel.guildId ? { guild_id: channel.guildId, ...(author ? { member: { roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 } } : {}) } : {}),
  };
}

/** INTERACTION_CREATE for a chat-input (slash) command. */
export function slashInteraction(i: { id: string; token: string; name: string; options?: Record<string, string>; user: FakeUser; channel: ChannelInfo }): Record<string, unknown> {
  return {
    id: i.id,
    application_id: APPLICATION_ID,
    type: 2,
    data: { id: `cmd-${i.name}`, name: i.name, type: 1, options: Object.entries(i.options ?? {}).map(([name, value]) => ({ name, type: 3, value })) },
    channel_id: i.channel.id,
    channel: { id: i.channel.id, type: i.channel.type, ...(i.channel.guildId ? { guild_id: i.channel.guildId } : {}) },
    ...(i.channel.guildId ? { guild_id: i.channel.guildId, member: memberObject(i.user) } : { user: userObject(i.user) }),
    token: i.token,
    version: 1,
    app_permissions: '2248473465835073',
    locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': GUILD_ID },
    context: i.channel.guildId ? 0 : 1,
    attachment_size_limit: 10_485_760,
  };
}

/** GUILD_CREATE for the one guild: a text channel, another one, and an active public thread. */
export function guildCreate(): Record<string, unknown> {
  const channel = (id: string, name: string, position: number) => ({ id, type: ChannelTypes.GuildText, guild_id: GUILD_ID, name, position, permission_overwrites: [], nsfw: false, parent_id: null, topic: null, last_message_id: null, rate_limit_per_user: 0 });
  return {
    id: GUILD_ID,
    name: 'Bothost Test Guild',
    icon: null,
    owner_id: '1300000000000000001',
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [{ id: GUILD_ID, name: '@everyone', color: 0, hoist: false, position: 0, permissions: '2248473465835073', managed: false, mentionable: false, flags: 0 }],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    joined_at: new Date(0).toISOString(),
    large: false,
    unavailable: false,
    member_count: 3,
    voice_states: [],
    members: [memberObject(BOT_USER)],
    channels: [channel(GENERAL_CHANNEL_ID, 'general', 0), channel(OTHER_CHANNEL_ID, 'other', 1)],
    threads: [
      {
        id: THREAD_ID,
        type: ChannelTypes.PublicThread,
        guild_id: GUILD_ID,
        parent_id: GENERAL_CHANNEL_ID,
        owner_id: '1300000000000000001',
        name: 'a thread',
        last_message_id: null,
        rate_limit_per_user: 0,
        message_count: 0,
        member_count: 1,
        thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
        flags: 0,
      },
    ],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
