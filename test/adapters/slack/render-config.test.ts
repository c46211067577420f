/**
 * Markdown → mrkdwn (each construct the issue names, escaping, code kept literal, chunks within
 * the limit and never inside a code block) and the bots.yaml entry (defaults, mode inference,
 * what `missing` tells the operator, capabilities).
 */
import { describe, expect, it } from 'vitest';
import definition, { SlackAdapterConfig } from '../../../adapters/slack/index.js';
import { markdownToMrkdwn, mrkdwnToPlain, renderSlack } from '../../../adapters/slack/render.js';

describe('markdownToMrkdwn', () => {
  const cases: Array<[string, string]> = [
    ['**bold** and __bold__', '*bold* and *bold*'],
    ['*italic* and _italic_', '_italic_ and _italic_'],
    ['~~strike~~', '~strike~'],
    ['`a < b && c`', '`a &lt; b &amp;&amp; c`'],
    ['[docs](https://example.com/a?b=1&c=2)', '<https://example.com/a?b=1&amp;c=2|docs>'],
    ['![cat](https://img.example/cat.png)', '<https://img.example/cat.png|cat>'],
    ['<https://example.com>', '<https://example.com>'],
    ['# Title', '*Title*'],
    ['- one\n- two\n  - nested', '• one\n• two\n    • nested'],
    ['1. first\n2) second', '1. first\n2. second'],
    ['> quoted *text*', '> quoted _text_'],
    ['a < b > c & d', 'a &lt; b &gt; c &amp; d'],
    ['2 * 3 * 4', '2 * 3 * 4'],
    ['snake_case_name stays', 'snake_case_name stays'],
    ['**bold with *italic* inside**', '*bold with _italic_ inside*'],
    ['```ts\nconst a = 1 < 2 && **x**;\n```', '```\nconst a = 1 &lt; 2 &amp;&amp; **x**;\n```'],
  ];
  for (const [md, expected] of cases) it(JSON.stringify(md), () => expect(markdownToMrkdwn(md)).toBe(expected));

  it('plain text drops the markers, keeps the words and escapes', () => {
    expect(mrkdwnToPlain(markdownToMrkdwn('**Hi** _there_, see [docs](https://d.io) & ~~not~~'))).toBe('Hi there, see docs (https://d.io) &amp; not');
  });
});

describe('renderSlack', () => {
  it('splits long replies within the limit, never inside a code block', () => {
    const code = '```\n' + Array.from({ length: 60 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\n') + '\n```';
    const text = `${'Intro paragraph. '.repeat(30)}\n\n${code}\n\n${'Outro. '.repeat(40)}`;
    const chunks = renderSlack(text, 'markdown', 1000);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(1000);
      expect((c.text.match(/```/g) ?? []).length % 2).toBe(0);
      expect(c.formatted).toBe(true);
    }
  });

  it('whitespace gives no chunks; plain mode only escapes', () => {
    expect(renderSlack('  \n ', 'markdown')).toEqual([]);
    expect(renderSlack('a <b> **c**', 'plain')).toEqual([{ text: 'a &lt;b&gt; **c**', plain: 'a &lt;b&gt; **c**', formatted: false }]);
  });
});

const base = { platform: 'slack', id: 's', agent: 'default', enabled: true, allowed_users: [], unknown_user_policy: 'allow', group_policy: 'mention_only' } as const;

describe('slack config', () => {
  it('has the documented defaults', () => {
    const c = SlackAdapterConfig.parse({ ...base, token: 'xoxb-1', signing_secret: 's' });
    expect(c).toMatchObject({ http: { host: '127.0.0.1', port: 3000, path: '/slack/events' }, api_url: 'https://slack.com/api/', reply_in_thread: true, threads: 'shared', allowed_channels: [], status_emoji: 'eyes' });
    expect(c.mode).toBeUndefined();
  });

  it('refuses unknown keys and a bot token where the app token goes; a missing credential is missing(), not a config error', () => {
    // `bot config check` on the shipped bots.yaml (token only) must pass; `missing()` names what to set.
    expect(SlackAdapterConfig.safeParse({ ...base, token: 'xoxb-1', mode: 'socket' }).success).toBe(true);
    expect(SlackAdapterConfig.safeParse({ ...base, token: 'xoxb-1', signing_secret: 's', signing_secrt: 'typo' }).success).toBe(false);
    expect(SlackAdapterConfig.safeParse({ ...base, token: 'xoxb-1', app_token: 'xoxb-not-an-app-token' }).success).toBe(false);
  });

  it('missing() tells the operator what to set', async () => {
    expect(await definition.missing({ platform: 'slack' }, 'bots[0]')).toMatch(/SLACK_BOT_TOKEN/);
    expect(await definition.missing({ token: 'xoxb-1' }, 'bots[0]')).toMatch(/SLACK_SIGNING_SECRET/);
    expect(await definition.missing({ token: 'xoxb-1', mode: 'socket' }, 'bots[0]')).toMatch(/SLACK_APP_TOKEN/);
    expect(await definition.missing({ token: 'xoxb-1', app_token: 'xapp-1' }, 'bots[0]')).toBeNull();
    expect(await definition.missing({ token: 'xoxb-1', signing_secret: 's' }, 'bots[0]')).toBeNull();
    expect(definition.env).toEqual({ token: 'SLACK_BOT_TOKEN', signing_secret: 'SLACK_SIGNING_SECRET', app_token: 'SLACK_APP_TOKEN' });
  });

  it('capabilities: not single-connection, edits throttled per workspace', () => {
    const caps = definition.capabilities(SlackAdapterConfig.parse({ ...base, token: 'xoxb-1', signing_secret: 's' }));
    expect(caps).toMatchObject({ singleConnection: false, edits: true, threads: true, markdown: 'slack-mrkdwn', scopeEditIntervalMs: 1200 });
  });
});
