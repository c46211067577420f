/** The telegram entry of bots.yaml: validated by the adapter's schema through the loader, errors name file:line: bots[i].key. */
import { describe, expect, it } from 'vitest';
import { TelegramAdapterConfig } from '../../../adapters/telegram/index.js';
import { botEntryValidator } from '../../helpers/bot-entry-config.js';

const { validate, errorOf } = botEntryValidator(TelegramAdapterConfig);

describe('TelegramAdapterConfig', () => {
  it('defaults: long polling against api.telegram.org, HTML, leader auto', () => {
    const c = validate('bots:\n  - platform: telegram\n    token: "1:x"\n');
    expect(c).toMatchObject({ id: 'telegram', mode: 'polling', api_root: 'https://api.telegram.org', parse_mode: 'html', leader: 'auto', forum_topics: 'shared', stream_edit_interval_ms: 1000, typing_interval_ms: 4000, leader_ttl_ms: 10_000 });
  });

  it('api_root loses its trailing slash; numbers from ${ENV} strings are accepted', () => {
    const c = validate('bots:\n  - platform: telegram\n    api_root: http://127.0.0.1:8081/\n    leader_ttl_ms: ${TTL}\n', { TTL: '2500' });
    expect(c.api_root).toBe('http://127.0.0.1:8081');
    expect(c.leader_ttl_ms).toBe(2500);
  });

  it('a bad value names the line and key, with the choices', () => {
    const e = errorOf('agents: { a: {} }\nbots:\n  - platform: telegram\n    token: "1:x"\n    mode: pol\n');
    expect(e.message).toMatch(/^bots\.yaml:5: bots\[0\]\.mode: unknown mode "pol"; choose one of polling, webhook$/);
  });

  it('a typo in a key gets a suggestion', () => {
    const e = errorOf('bots:\n  - platform: telegram\n    token: "1:x"\n    api_rot: http://x\n');
    expect(e.message).toMatch(/bots\.yaml:4: bots\[0\]\.api_rot: unknown key 'api_rot'; did you mean 'api_root'\?/);
  });

  it('webhook mode needs a webhook section; its secret must follow Telegram\'s rule (value not echoed)', () => {
    expect(errorOf('bots:\n  - platform: telegram\n    mode: webhook\n').message).toMatch(/bots\.yaml:2: bots\[0\]\.webhook: mode webhook needs `webhook:/);
    const e = errorOf('bots:\n  - platform: telegram\n    mode: webhook\n    webhook:\n      url: https://bot.example/tg\n      secret: "has spaces!"\n');
    expect(e.message).toMatch(/bots\.yaml:6: bots\[0\]\.webhook\.secret: must be 1–256 characters/);
    expect(e.message).not.toContain('has spaces!');
  });
});
