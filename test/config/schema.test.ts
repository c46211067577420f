import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { BotsConfigSchema, CONFIG_DEFAULTS } from '../../src/config/schema.js';
import { yaml } from './helpers.js';

describe('defaults', () => {
  it('an empty document gives every default', () => {
    const { config, file, missingEnv } = parseConfig('', { env: {} });
    expect(file).toBeNull();
    expect(missingEnv).toEqual({});
    expect(config).toEqual({
      agents: {
        assistant: { name: 'assistant', instructions: 'You are a helpful assistant.', model: 'echo', max_history: 50 },
      },
      store: {
        backend: 'file',
        path: path.join(os.homedir(), '.bothost/sessions'),
        max_messages: 1000,
        prefix: 'bothost',
      },
      queue: { backend: 'inline', concurrency: 8, name: 'bothost-turns', intake_path: path.join(os.homedir(), '.bothost/intake') },
      session: { scope: 'per_user', reset: { mode: 'none', idle_minutes: 60, at_hour: 4 } },
      bots: [],
      gateway: {
        enabled: false,
        host: '127.0.0.1',
        port: 8765,
        agent: 'assistant',
        allow_loopback_without_auth: false,
        session: {
          persist: false,
          persist_path: path.join(os.homedir(), '.bothost/gateway-sessions'),
          resume_window: 86400,
          timeout: 3600,
          max_messages: 1000,
          purge_interval: 3600,
        },
        auth: { tokens: {}, token_ttl: 2592000 },
        limits: { max_frame_bytes: 65536, max_message_chars: 16000, messages_per_minute: 30, burst: 10, max_buffered_bytes: 1048576, max_connections: 20000, max_pending: 20 },
      },
      log: { level: 'info', format: 'auto' },
      metrics: { enabled: true, host: '127.0.0.1', port: 9464 },
      admin: { enabled: false, identities: [] },
    });
  });

  it('a comment-only document and sections left empty also give the defaults', () => {
    const empty = parseConfig('', { env: {} }).config;
    expect(parseConfig('# nothing here\n', { env: {} }).config).toEqual(empty);
    expect(parseConfig(yaml('store:', 'gateway:', '  session:', 'bots:'), { env: {} }).config).toEqual(empty);
  });

  it('an agent with an empty body gets every agent default', () => {
    const { config } = parseConfig(yaml('agents:', '  helper:', '  coder:', '    model: m'), { env: {} });
    expect(config.agents).toEqual({
      helper: { name: 'helper', instructions: 'You are a helpful assistant.', model: 'echo', max_history: 50 },
      coder: { name: 'coder', instructions: 'You are a helpful assistant.', model: 'm', max_history: 50 },
    });
  });

  it('the schema alone applies defaults but leaves ~ for the loader to expand', () => {
    const config = BotsConfigSchema.parse({});
    expect(config.store.path).toBe('~/.bothost/sessions');
    expect(config.gateway.port).toBe(CONFIG_DEFAULTS.gateway.port);
  });

  it('CONFIG_DEFAULTS is deeply frozen', () => {
    expect(Object.isFrozen(CONFIG_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(CONFIG_DEFAULTS.gateway.session)).toBe(true);
    expect(() => {
      (CONFIG_DEFAULTS.gateway as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('derived defaults', () => {
  it('agent name defaults to its id; bots and gateway default to the first agent', () => {
    const { config } = parseConfig(
      yaml('agents:', '  helper: {}', '  other:', '    name: Other', 'bots:', '  - platform: slack', 'gateway: {}'),
      { env: {} },
    );
    expect(config.agents.helper?.name).toBe('helper');
    expect(config.agents.other?.name).toBe('Other');
    expect(config.bots[0]?.agent).toBe('helper');
    expect(config.gateway.agent).toBe('helper');
  });

  it('bot ids default to the platform, with the list index when the platform repeats', () => {
    const { config } = parseConfig(
      yaml('bots:', '  - platform: telegram', '  - platform: slack', '  - platform: telegram', '  - platform: discord', '    id: main'),
      { env: {} },
    );
    expect(config.bots.map((b) => b.id)).toEqual(['telegram-0', 'slack', 'telegram-2', 'main']);
  });

  it('bots keep platform-specific keys and coerce allowed_users to strings', () => {
    const { config } = parseConfig(
      yaml('bots:', '  - platform: slack', '    app_token: xapp-1', '    allowed_users: [12345, U0ABC]'),
      { env: {} },
    );
    expect(config.bots[0]).toMatchObject({ app_token: 'xapp-1', allowed_users: ['12345', 'U0ABC'], enabled: true });
  });

  it('queue.redis_url falls back to store.url when the store is redis', () => {
    const { config } = parseConfig(
      yaml('store:', '  backend: redis', '  url: redis://cache:6379', 'queue:', '  backend: bullmq'),
      { env: {} },
    );
    expect(config.queue.redis_url).toBe('redis://cache:6379');
  });

  it('numbers and booleans written as strings are accepted', () => {
    const { config } = parseConfig(
      yaml('gateway:', '  port: "9000"', '  enabled: "true"', '  allow_loopback_without_auth: "no"', 'agents:', '  a:', '    temperature: "0.5"'),
      { env: {} },
    );
    expect(config.gateway.port).toBe(9000);
    expect(config.gateway.enabled).toBe(true);
    expect(config.gateway.allow_loopback_without_auth).toBe(false);
    expect(config.agents.a?.temperature).toBe(0.5);
  });
});
