import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/core/errors.js';
import { expandHome, loadConfig, parseConfig, resolveConfigPath } from '../../src/config/load.js';

const FULL_EXAMPLE = `
agents:
  assistant:
    name: Assistant
    instructions: "You are a helpful assistant."
    model: llama3.1
    base_url: http://localhost:11434/v1
    api_key: \${OPENAI_API_KEY}
    max_history: 20
    temperature: 0.7
    max_output_tokens: 1024
  coder:
    model: echo
store:
  backend: redis
  path: /var/lib/bothost/sessions
  max_messages: 500
  url: redis://localhost:6379
  prefix: bh
queue:
  backend: bullmq
  concurrency: 4
  name: turns
  intake_path: ~/bothost-intake
session:
  scope: per_chat
bots:
  - platform: telegram
    agent: coder
    token: \${TELEGRAM_BOT_TOKEN}
    allowed_users: [12345, "alice"]
    unknown_user_policy: deny
    group_policy: respond_all
  - platform: slack
    id: work-slack
    enabled: false
    app_token: xapp-1
gateway:
  enabled: true
  host: 0.0.0.0
  port: 9000
  agent: coder
  allow_loopback_without_auth: true
  session:
    persist: true
    persist_path: ~/gw
    resume_window: 600
    timeout: 60
    max_messages: 100
log:
  level: debug
`;

describe('full example', () => {
  const env = { OPENAI_API_KEY: 'sk-test', TELEGRAM_BOT_TOKEN: '1:tok' };

  it('parses every key', () => {
    const { config, missingEnv } = parseConfig(FULL_EXAMPLE, { file: 'bots.yaml', env });
    expect(missingEnv).toEqual({});
    expect(config).toEqual({
      agents: {
        assistant: {
          name: 'Assistant',
          instructions: 'You are a helpful assistant.',
          model: 'llama3.1',
          base_url: 'http://localhost:11434/v1',
          api_key: 'sk-test',
          max_history: 20,
          temperature: 0.7,
          max_output_tokens: 1024,
        },
        coder: { name: 'coder', instructions: 'You are a helpful assistant.', model: 'echo', max_history: 50 },
      },
      store: { backend: 'redis', path: '/var/lib/bothost/sessions', max_messages: 500, url: 'redis://localhost:6379', prefix: 'bh' },
      queue: { backend: 'bullmq', concurrency: 4, name: 'turns', intake_path: path.join(os.homedir(), 'bothost-intake'), redis_url: 'redis://localhost:6379' },
      session: { scope: 'per_chat', reset: { mode: 'none', idle_minutes: 60, at_hour: 4 } },
      bots: [
        {
          platform: 'telegram',
          id: 'telegram',
          agent: 'coder',
          enabled: true,
          token: '1:tok',
          allowed_users: ['12345', 'alice'],
          unknown_user_policy: 'deny',
          group_policy: 'respond_all',
        },
        {
          platform: 'slack',
          id: 'work-slack',
          agent: 'assistant',
          enabled: false,
          app_token: 'xapp-1',
          allowed_users: [],
          unknown_user_policy: 'allow',
          group_policy: 'mention_only',
        },
      ],
      gateway: {
        enabled: true,
        host: '0.0.0.0',
        port: 9000,
        agent: 'coder',
        allow_loopback_without_auth: true,
        session: {
          persist: true,
          persist_path: path.join(os.homedir(), 'gw'),
          resume_window: 600,
          timeout: 60,
          max_messages: 100,
          purge_interval: 3600,
        },
        auth: { tokens: {}, token_ttl: 2592000 },
        limits: { max_frame_bytes: 65536, max_message_chars: 16000, messages_per_minute: 30, burst: 10, max_buffered_bytes: 1048576, max_connections: 20000, max_pending: 20 },
      },
      log: { level: 'debug', format: 'auto' },
      metrics: { enabled: true, host: '127.0.0.1', port: 9464 },
      admin: { enabled: false, identities: [] },
    });
  });

  it('round-trips: the parsed config written back as YAML parses to the same config', () => {
    const first = parseConfig(FULL_EXAMPLE, { env }).config;
    expect(parseConfig(stringify(first), { env: {} }).config).toEqual(first);
  });
});

describe('expandHome', () => {
  it('expands only a leading ~ or ~/', () => {
    expect(expandHome('~', '/home/u')).toBe('/home/u');
    expect(expandHome('~/x/y', '/home/u')).toBe(path.join('/home/u', 'x/y'));
    expect(expandHome('~bob/x', '/home/u')).toBe('~bob/x');
    expect(expandHome('/a/~/b', '/home/u')).toBe('/a/~/b');
  });
});

describe('resolveConfigPath and loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bothost-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('with nothing to find, returns null (built-in defaults)', () => {
    expect(resolveConfigPath(undefined, {}, dir)).toBeNull();
  });

  it('finds ./bots.yaml in the cwd', () => {
    const local = write('bots.yaml', '');
    expect(resolveConfigPath(undefined, {}, dir)).toBe(local);
  });

  it('BOTHOST_CONFIG beats ./bots.yaml, and an explicit path beats both', () => {
    write('bots.yaml', '');
    const fromEnv = write('env.yaml', '');
    const explicit = write('explicit.yaml', '');
    expect(resolveConfigPath(undefined, { BOTHOST_CONFIG: fromEnv }, dir)).toBe(fromEnv);
    expect(resolveConfigPath('explicit.yaml', { BOTHOST_CONFIG: fromEnv }, dir)).toBe(explicit);
  });

  it('a named file that does not exist is an error, not a silent fallback', () => {
    write('bots.yaml', '');
    expect(() => resolveConfigPath('nope.yaml', {}, dir)).toThrow(ConfigError);
    expect(() => resolveConfigPath('nope.yaml', {}, dir)).toThrow(/^config file nope\.yaml not found/);
    expect(() => resolveConfigPath(undefined, { BOTHOST_CONFIG: 'gone.yaml' }, dir)).toThrow(
      /config file gone\.yaml \(from BOTHOST_CONFIG\) not found .*; fix or unset BOTHOST_CONFIG/,
    );
  });

  it('loadConfig reads the file and names it in errors', async () => {
    const good = write('good.yaml', 'gateway:\n  port: ${PORT}\n');
    const loaded = await loadConfig(good, { PORT: '7000' });
    expect(loaded.file).toBe(good);
    expect(loaded.config.gateway.port).toBe(7000);

    const bad = write('bad.yaml', 'log:\n  level: loud\n');
    const err = await loadConfig(undefined, { BOTHOST_CONFIG: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      `${bad}:2: log.level: unknown log level "loud"; choose one of trace, debug, info, warn, error, silent`,
    );
    expect((err as ConfigError).file).toBe(bad);
  });
});
