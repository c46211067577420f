/** Rendering for Discord (2000 per message, code blocks intact), nonces, the error decision table. */
import { describe, expect, it } from 'vitest';
import { decideDiscordError, decisionOf, describeError, fatalCloseOf } from '../../../adapters/discord/api-errors.js';
import { nonceOf } from '../../../adapters/discord/outbound.js';
import { escapeDiscordMarkdown, renderDiscord, toDiscordMarkdown } from '../../../adapters/discord/render.js';

describe('renderDiscord', () => {
  it('keeps what Discord renders, bolds deep headings, puts tables in a code block (code blocks untouched)', () => {
    expect(toDiscordMarkdown('# Title\n#### Deep ####\n**b** _i_ `c`')).toBe('# Title\n**Deep**\n**b** _i_ `c`');
    expect(toDiscordMarkdown('| a | b |\n|---|---|\n| 1 | 2 |\nafter')).toBe('```\n| a | b |\n|---|---|\n| 1 | 2 |\n```\nafter');
    expect(toDiscordMarkdown('```md\n#### not a heading\n| a |\n|---|\n```')).toBe('```md\n#### not a heading\n| a |\n|---|\n```');
  });

  it('every chunk ≤ 2000, and a long code block is split into complete blocks with the same fence', () => {
    const code = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(10)}`).join('\n');
    const text = `Intro paragraph.\n\n\`\`\`ts\n${code}\n\`\`\`\n\nOutro.`;
    const chunks = renderDiscord(text, 'markdown');
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(2000);
      expect((c.text.match(/```/g) ?? []).length % 2).toBe(0);
    }
    const codeChunks = chunks.filter((c) => c.text.includes('```ts'));
    expect(codeChunks.length).toBeGreaterThan(1);
    for (const c of codeChunks) expect(c.text.trimEnd().endsWith('```')).toBe(true);
    expect(chunks.map((c) => c.text).join('\n')).toContain('line 299');
  });

  it('plain text is escaped so it shows as typed; whitespace-only gives no chunks', () => {
    expect(escapeDiscordMarkdown('*not bold* _x_ `y` > no quote\n# no heading')).toBe('\\*not bold\\* \\_x\\_ \\`y\\` > no quote\n\\# no heading');
    expect(escapeDiscordMarkdown('> quote')).toBe('\\> quote');
    expect(renderDiscord('  \n ', 'plain')).toEqual([]);
    expect(renderDiscord('a*b', 'plain')).toEqual([{ text: 'a\\*b', plain: 'a\\*b', formatted: false }]);
  });
});

describe('nonceOf', () => {
  it('deterministic, at most 25 decimal digits, different for different keys', () => {
    const a = nonceOf('dc|1400000000000000001|0');
    expect(a).toBe(nonceOf('dc|1400000000000000001|0'));
    expect(a).toMatch(/^\d{1,25}$/);
    expect(nonceOf('dc|1400000000000000001|1')).not.toBe(a);
    // A streamed preview becomes the reply's first message: one nonce for both.
    expect(nonceOf('dc|1400000000000000001|preview|0')).toBe(a);
    expect(nonceOf('dc|1400000000000000001|n|0')).not.toBe(a);
  });
});

describe('the decision table', () => {
  it('maps Discord codes and statuses', () => {
    expect(decideDiscordError(403, 50007)).toBe('drop');
    expect(decideDiscordError(403, 50013)).toBe('drop');
    expect(decideDiscordError(404, 10003)).toBe('drop');
    expect(decideDiscordError(404, 10062)).toBe('post_in_channel');
    expect(decideDiscordError(401, 50027)).toBe('post_in_channel');
    expect(decideDiscordError(404, 10008)).toBe('send_new');
    expect(decideDiscordError(400, 40060)).toBe('ignore');
    expect(decideDiscordError(401, 0)).toBe('fatal');
    expect(decideDiscordError(502, undefined)).toBe('retry');
    expect(decideDiscordError(400, 50035)).toBe('fail');
    expect(decisionOf(new TypeError('fetch failed'))).toBe('retry');
  });

  it('describes an error without its URL', () => {
    const err = Object.assign(new Error('Unknown interaction'), { status: 404, code: 10062, url: 'http://x/api/v10/interactions/1/SECRET-TOKEN/callback' });
    expect(describeError(err)).toBe('Unknown interaction, HTTP 404, code 10062');
  });

  it('fatal gateway closes: by close code, else by discord.js\'s login message', () => {
    expect(fatalCloseOf(4014, new Error('x'))).toBe(4014);
    expect(fatalCloseOf(undefined, new Error('Used disallowed intents'))).toBe(4014);
    expect(fatalCloseOf(undefined, Object.assign(new Error('An invalid token was provided.'), { code: 'TokenInvalid' }))).toBe(4004);
    expect(fatalCloseOf(4000, new Error('Something timed out'))).toBeUndefined();
  });
});
