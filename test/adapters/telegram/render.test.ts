/** render.ts: Markdown → Telegram HTML chunks that always parse, never split a fence or entity, ≤ 4096 UTF-16 units. */
import { describe, expect, it } from 'vitest';
import { hardSplit, plainChunks, renderReply } from '../../../adapters/telegram/render.js';
import { parseTelegramHtml } from '../../helpers/fake-telegram-server.js';

/** Every chunk parses as Telegram HTML and fits; returns the visible texts. */
function checkChunks(text: string, limit = 4096): string[] {
  const chunks = renderReply(text, { limit });
  return chunks.map((c) => {
    expect(c.text.length).toBeLessThanOrEqual(limit);
    const parsed = parseTelegramHtml(c.text);
    if ('error' in parsed) throw new Error(`${parsed.error}\n${c.text.slice(0, 300)}`);
    expect(parsed.text.trim()).toBe(c.plain);
    expect(c.plain.length).toBeLessThanOrEqual(limit);
    return c.plain;
  });
}

const codeOf = (html: string) => [...html.matchAll(/<pre><code[^>]*>([\s\S]*?)<\/code><\/pre>/g)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));

describe('renderReply (html)', () => {
  it('renders the Markdown subset and escapes everything else', () => {
    const [c] = renderReply('**bold** *it* _it2_ ~~gone~~ `a<b` [x](https://e.x/?a=1&b=2) 1 < 2 & 3 > 2\n# Head\n- item');
    expect(c!.text).toBe(
      '<b>bold</b> <i>it</i> <i>it2</i> <s>gone</s> <code>a&lt;b</code> <a href="https://e.x/?a=1&amp;b=2">x</a> 1 &lt; 2 &amp; 3 &gt; 2\n<b>Head</b>\n• item',
    );
    expect(c!.plain).toBe('bold it it2 gone a<b x 1 < 2 & 3 > 2\nHead\n• item');
  });

  it('leaves snake_case, 2*3*4 and unbalanced markers as text', () => {
    const [c] = renderReply('snake_case_name and 2*3*4 and **open and `tick');
    expect(c!.text).toBe('snake_case_name and 2*3*4 and **open and `tick');
  });

  it('renders a fenced block with its language; an unclosed fence runs to the end', () => {
    expect(renderReply('```py\nx = 1 < 2\n```')[0]!.text).toBe('<pre><code class="language-py">x = 1 &lt; 2</code></pre>');
    expect(renderReply('see:\n```\nopen <b>')[0]!.text).toBe('see:\n<pre><code>open &lt;b&gt;</code></pre>');
  });

  it('short replies are one chunk; empty replies none', () => {
    expect(renderReply('hello')).toHaveLength(1);
    expect(renderReply('  \n\n ')).toHaveLength(0);
  });

  it('splits long prose at paragraph and line ends, every chunk within the limit', () => {
    const para = (n: number) => Array.from({ length: 40 }, (_, i) => `Sentence ${n}.${i} is **here**.`).join(' ');
    const text = Array.from({ length: 20 }, (_, i) => para(i)).join('\n\n');
    const plains = checkChunks(text);
    expect(plains.length).toBeGreaterThan(1);
    // Nothing lost or reordered: the visible texts join back to the whole.
    expect(plains.join('\n\n')).toBe(text.replace(/\*\*/g, ''));
    // Breaks fall between paragraphs when paragraphs fit.
    for (const p of plains) expect(p.endsWith('**here**.') || p.endsWith('here.')).toBe(true);
  });

  it('a 10k-character code block becomes several complete <pre> blocks whose code joins back exactly', () => {
    const lines = Array.from({ length: 250 }, (_, i) => `const line${i} = "${'<&>'.repeat(8)}${i}";`);
    const code = lines.join('\n');
    expect(code.length).toBeGreaterThan(10_000);
    const chunks = renderReply(`Here you go:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`);
    checkChunks(`Here you go:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`);
    expect(chunks.length).toBeGreaterThan(2);
    const pieces = chunks.flatMap((c) => codeOf(c.text));
    // Split only at line ends: the pieces' lines are the original lines, in order.
    expect(pieces.join('\n')).toBe(code);
    for (const c of chunks) expect((c.text.match(/<pre>/g) ?? []).length).toBe((c.text.match(/<\/pre>/g) ?? []).length);
  });

  it('one 10k-character line of code is cut into pieces that still join back', () => {
    const code = 'x'.repeat(10_000);
    const chunks = renderReply('```\n' + code + '\n```');
    expect(chunks.map((c) => c.text.length)).toEqual([4096, 4096, 10_000 - 2 * (4096 - 24) + 24]);
    expect(chunks.flatMap((c) => codeOf(c.text)).join('')).toBe(code);
  });

  it('never splits a surrogate pair or an emoji sequence (UTF-16 lengths)', () => {
    const family = '👨‍👩‍👧‍👦'; // 11 UTF-16 units, one grapheme
    const text = `${family} `.repeat(900) + family.repeat(800);
    const plains = checkChunks(text);
    expect(plains.length).toBeGreaterThan(2);
    for (const p of plains) {
      expect(/^[\uDC00-\uDFFF]/.test(p)).toBe(false);
      expect(/[\uD800-\uDBFF]$/.test(p)).toBe(false);
      expect(p.replace(/[👨👩👧👦\u200d\s]/gu, '')).toBe('');
    }
    expect(plains.join('').replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
  });

  it('an entity longer than a message is split and re-opened in each chunk', () => {
    const inner = 'word '.repeat(1500).trim();
    const chunks = renderReply(`**${inner}**`);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.text.startsWith('<b>') && c.text.endsWith('</b>')).toBe(true);
      expect(c.text.length).toBeLessThanOrEqual(4096);
    }
    expect(chunks.map((c) => c.plain).join('').replace(/\s/g, '')).toBe(inner.replace(/\s/g, ''));
  });

  it('escaping counts toward the limit: a block of "<" characters still fits', () => {
    checkChunks('```\n' + '<'.repeat(5000) + '\n```');
    checkChunks('<>&'.repeat(3000));
  });
});

describe('plain mode and helpers', () => {
  it('plain mode sends the text as is, chunked at word boundaries', () => {
    const text = '**not bold** <b>literal</b> ' + 'abc '.repeat(2000);
    const chunks = renderReply(text, { mode: 'plain' });
    expect(chunks[0]!.parseMode).toBeUndefined();
    expect(chunks[0]!.text.startsWith('**not bold** <b>literal</b>')).toBe(true);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(4096);
    expect(chunks.map((c) => c.text).join(' ').replace(/\s+/g, ' ').trim()).toBe(text.replace(/\s+/g, ' ').trim());
  });

  it('plainChunks keeps short text whole', () => {
    expect(plainChunks('Commands:\n/start — hi')).toEqual(['Commands:\n/start — hi']);
  });

  it('hardSplit respects the rendered size', () => {
    expect(hardSplit('a<b<c', 4, (s) => s.replace(/</g, '&lt;'))).toEqual(['a', '<', 'b', '<', 'c']);
  });
});
