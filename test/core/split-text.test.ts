/** splitMarkdown: limits in both units, code blocks never cut open, break preferences, surrogates. */
import { describe, expect, it } from 'vitest';
import { measure, splitMarkdown } from '../../src/core/split-text.js';

/** CommonMark's rule: a fence opens with ``` (+ info), closes with a bare ``` line; balanced = ends outside. */
function fencesBalanced(s: string): boolean {
  let open = false;
  for (const line of s.split('\n')) {
    const t = line.trim();
    if (!open && /^```/.test(t)) open = true;
    else if (open && /^```$/.test(t)) open = false;
  }
  return !open;
}

describe('splitMarkdown', () => {
  it('short text is one piece; whitespace-only is none', () => {
    expect(splitMarkdown('hello **world**', 100)).toEqual(['hello **world**']);
    expect(splitMarkdown(' \n\n ', 100)).toEqual([]);
  });

  it('breaks between paragraphs first, then lines, then words', () => {
    expect(splitMarkdown('aaaa\n\nbbbb\n\ncccc', 10)).toEqual(['aaaa\n\nbbbb', 'cccc']);
    expect(splitMarkdown('aaaa\nbbbb\ncccc', 10)).toEqual(['aaaa\nbbbb', 'cccc']);
    expect(splitMarkdown('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  });

  it('a code block too long for one message becomes several complete blocks with the same fence', () => {
    const code = Array.from({ length: 60 }, (_, i) => `line ${i}`).join('\n');
    const pieces = splitMarkdown(`intro\n\n\`\`\`python\n${code}\n\`\`\`\n\noutro`, 120);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(120);
      expect(fencesBalanced(p), p).toBe(true);
    }
    const inCode = pieces.filter((p) => p.includes('line '));
    expect(inCode.length).toBeGreaterThan(2);
    for (const p of inCode) expect(p.startsWith('```python\n') || p.includes('\n```python\n')).toBe(true);
    expect(pieces.join('\n').replace(/```(python)?\n?/g, '')).toContain('line 59');
  });

  it('an unterminated fence is closed', () => {
    const [only] = splitMarkdown('```js\nconst a = 1;', 100);
    expect(only).toBe('```js\nconst a = 1;\n```');
  });

  it('never splits a surrogate pair or an emoji cluster; codepoints count astral characters once', () => {
    const text = '👍🏽'.repeat(30);
    const pieces = splitMarkdown(text, 9, 'utf16');
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(9);
      expect(p).toMatch(/^(👍🏽)+$/u);
    }
    expect(pieces.join('')).toBe(text);
    expect(measure('a😀b', 'codepoints')).toBe(3);
    expect(measure('a😀b', 'utf16')).toBe(4);
    expect(splitMarkdown('😀😀😀😀', 2, 'codepoints')).toEqual(['😀😀', '😀😀']);
  });

  it('every piece stays within the limit on random replies (paragraphs, long words, emoji, code blocks)', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const words = ['alpha', 'beta', 'ünïcödé', '😀', '👍🏽', 'x'.repeat(40), '**bold**'];
    const paragraph = () => Array.from({ length: 1 + Math.floor(rand() * 30) }, () => pick(words)).join(pick([' ', ' ', '\n']));
    const code = () => `\`\`\`${pick(['', 'ts', 'python'])}\n${Array.from({ length: 1 + Math.floor(rand() * 20) }, paragraph).join('\n')}\n\`\`\``;
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => (rand() < 0.3 ? code() : paragraph())).join('\n\n');
      for (const p of splitMarkdown(text, 64)) {
        expect(p.length).toBeLessThanOrEqual(64);
        expect(fencesBalanced(p), p).toBe(true);
      }
    }
  });
});
