/** The discord entry of bots.yaml: validated by the adapter's schema through the loader, errors name file:line: bots[i].key. */
import { describe, expect, it } from 'vitest';
import discord, { DiscordAdapterConfig } from '../../../adapters/discord/index.js';
import { botEntryValidator } from '../../helpers/bot-entry-config.js';

const { validate, errorOf } = botEntryValidator(DiscordAdapterConfig);

describe('DiscordAdapterConfig', () => {
  it('defaults: discord.com REST, mention_only, per_thread threads, slash commands, leader auto', () => {
    const c = validate('bots:\n  - platform: discord\n    token: "x.y.z"\n');
    expect(c).toMatchObject({
      id: 'discord',
      api_root: 'https://discord.com/api',
      group_policy: 'mention_only',
      threads: 'per_thread',
      slash_commands: true,
      allowed_guilds: [],
      allowed_channels: [],
      leader: 'auto',
      leader_ttl_ms: 10_000,
      stream_edit_interval_ms: 1000,
      typing_interval_ms: 8000,
    });
  });

  it('api_root loses its trailing slash; allowed_* lists and ${ENV} values are accepted', () => {
    const c = validate('bots:\n  - platform: discord\n    api_root: http://127.0.0.1:9999/api/\n    allowed_guilds: ["1200000000000000001"]\n    allowed_channels: ["1200000000000000010"]\n    allowed_users: [alice, "1300000000000000001"]\n    slash_commands: ${SC}\n', { SC: 'false' });
    expect(c.api_root).toBe('http://127.0.0.1:9999/api');
    expect(c.allowed_guilds).toEqual(['1200000000000000001']);
    expect(c.allowed_users).toEqual(['alice', '1300000000000000001']);
    expect(c.slash_commands).toBe(false);
  });

  it('an unquoted snowflake (too big for a YAML number) is refused on its line, asking for quotes', () => {
    const e = errorOf('bots:\n  - platform: discord\n    token: t\n    allowed_users: [1300000000000000001]\n');
    expect(e.message).toMatch(/bots\.yaml:4: bots\[0\]\.allowed_users\[0\]: .*put the id in quotes/);
  });

  it('allowed_guilds: an unquoted snowflake is refused too; small numbers become strings', () => {
    expect(errorOf('bots:\n  - platform: discord\n    token: t\n    allowed_guilds: [1200000000000000001]\n').message).toMatch(/bots\.yaml:4: bots\[0\]\.allowed_guilds\[0\]: .*put the id in quotes/);
    expect(validate('bots:\n  - platform: discord\n    token: t\n    allowed_channels: [42]\n').allowed_channels).toEqual(['42']);
  });

  it('a bad threads value names the line and the choices', () => {
    const e = errorOf('agents: { a: {} }\nbots:\n  - platform: discord\n    token: t\n    threads: perthread\n');
    expect(e.message).toMatch(/^bots\.yaml:5: bots\[0\]\.threads: .*per_thread.*shared/);
  });

  it('a typo in a key gets a suggestion, on its line', () => {
    const e = errorOf('bots:\n  - platform: discord\n    token: t\n    allowed_guild: ["1"]\n');
    expect(e.message).toMatch(/bots\.yaml:4: bots\[0\]\.allowed_guild: unknown key 'allowed_guild'; did you mean 'allowed_guilds'\?/);
  });

  it('streaming edits cannot be set faster than one per second per reply', () => {
    const e = errorOf('bots:\n  - platform: discord\n    token: t\n    stream_edit_interval_ms: 200\n');
    expect(e.message).toMatch(/bots\.yaml:4: bots\[0\]\.stream_edit_interval_ms: .*at least 1000/);
  });

  it('the definition: DISCORD_BOT_TOKEN, what is missing, capabilities', () => {
    expect(discord.platform).toBe('discord');
    expect(discord.env).toEqual({ token: 'DISCORD_BOT_TOKEN' });
    expect(discord.missing({ platform: 'discord' }, 'bots[0] in bots.yaml')).toMatch(/DISCORD_BOT_TOKEN is not set .* bots\[0\] in bots\.yaml/);
    expect(discord.missing({ platform: 'discord', token: 'abc' }, 'x')).toBeNull();
    const caps = discord.capabilities(validate('bots:\n  - platform: discord\n    token: t\n'));
    expect(caps).toMatchObject({ edits: true, typing: true, threads: true, maxMessageLength: 2000, singleConnection: true, markdown: 'discord', editIntervalMs: 1000, redelivers: false });
  });
});
