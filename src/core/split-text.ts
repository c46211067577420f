/**
 * Splits a reply into messages of at most `limit` units without breaking what the reader sees:
 * breaks fall between paragraphs, then lines, then words, then grapheme clusters (never inside
 * an emoji or a surrogate pair), and never inside a fenced code block — a block too long for one
 * message is cut at line ends and every piece is a complete block with the same opening fence.
 *
 * Adapters whose markup keeps Markdown's ``` fences (Discord, Slack mrkdwn, WhatsApp) render
 * first, then split with this. Inline markup (`*bold*`) spanning a paragraph or line break is
 * not a thing in these dialects; a single line longer than a message may be cut between words.
 */

export type LengthUnit = 'utf16' | 'codepoints';

/** Length of `s` in the platform's unit. */
export function measure(s: string, unit: LengthUnit): number {
  if (unit === 'utf16') return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

interface Block {
  kind: 'text' | 'code';
  /** Text blocks: the paragraph; code blocks: the lines between the fences. */
  lines: string[];
  open?: string;
  close?: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

function blocksOf(text: string): Block[] {
  const blocks: Block[] = [];
  let para: string[] = [];
  const endPara = () => {
    if (para.some((l) => l.trim() !== '')) blocks.push({ kind: 'text', lines: para });
    para = [];
  };
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      endPara();
      const mark = fence[1]!;
      const body: string[] = [];
      let j = i + 1;
      let close: string | undefined;
      for (; j < lines.length; j++) {
        const m = FENCE.exec(lines[j]!);
        if (m && m[1]![0] === mark[0] && m[1]!.length >= mark.length && m[2]!.trim() === '') {
          close = lines[j]!.trim();
          break;
        }
        body.push(lines[j]!);
      }
      // An unterminated fence (a model cut off mid-block) is closed, so the markup stays valid.
      // Only the language of the info string is kept: it is all platforms use, and a long info
      // string must not eat the room of every piece a long block is cut into.
      const language = fence[2]!.trim().split(/\s+/)[0] ?? '';
      blocks.push({ kind: 'code', lines: body, open: `${mark}${language.slice(0, 20)}`, close: close ?? mark });
      i = j;
      continue;
    }
    if (line.trim() === '') endPara();
    else para.push(line);
  }
  endPara();
  return blocks;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Greedy packing of `parts` joined by `sep`; a part longer than `limit` is split by `smaller`. */
function pack(parts: string[], sep: string, limit: number, unit: LengthUnit, smaller: (part: string) => string[]): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (const part of parts) {
    if (measure(part, unit) > limit) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      out.push(...smaller(part));
      continue;
    }
    if (cur === undefined) cur = part;
    else if (measure(cur, unit) + measure(sep, unit) + measure(part, unit) <= limit) cur += sep + part;
    else {
      out.push(cur);
      cur = part;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

function graphemes(s: string, limit: number, unit: LengthUnit): string[] {
  const parts = Array.from(segmenter.segment(s), (g) => g.segment);
  // A single grapheme longer than the limit (absurdly small limits only) goes alone.
  return pack(parts, '', limit, unit, (g) => [g]);
}

function words(line: string, limit: number, unit: LengthUnit): string[] {
  return pack(line.split(' '), ' ', limit, unit, (w) => graphemes(w, limit, unit));
}

function splitLines(lines: string[], limit: number, unit: LengthUnit): string[] {
  return pack(lines, '\n', limit, unit, (l) => words(l, limit, unit));
}

function renderBlock(b: Block): string {
  return b.kind === 'text' ? b.lines.join('\n') : [b.open!, ...b.lines, b.close!].join('\n');
}

/** The pieces of a block too long for one message, each within `limit`. */
function splitBlock(b: Block, limit: number, unit: LengthUnit): string[] {
  if (b.kind === 'text') return splitLines(b.lines, limit, unit);
  const frame = measure(b.open!, unit) + measure(b.close!, unit) + 2;
  const budget = Math.max(1, limit - frame);
  const bodies = splitLines(b.lines.length > 0 ? b.lines : [''], budget, unit);
  return bodies.map((body) => `${b.open}\n${body}\n${b.close}`);
}

/**
 * @example splitMarkdown('a\n\nb', 3) // ['a', 'b']  ('a\n\nb' is 4 units)
 * Whitespace-only input gives no pieces.
 */
export function splitMarkdown(text: string, limit: number, unit: LengthUnit = 'utf16'): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (const block of blocksOf(text)) {
    const whole = renderBlock(block);
    if (measure(whole, unit) > limit) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      out.push(...splitBlock(block, limit, unit));
      continue;
    }
    if (cur === undefined) cur = whole;
    else if (measure(cur, unit) + 2 + measure(whole, unit) <= limit) cur += `\n\n${whole}`;
    else {
      out.push(cur);
      cur = whole;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out.map((s) => s.replace(/\s+$/u, '')).filter((s) => s.trim() !== '');
}
