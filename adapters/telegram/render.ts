/**
 * Reply text (Markdown, as models write it) → Telegram messages.
 *
 * - `html` mode renders a safe subset (code fences, `inline code`, **bold**, *italic*, _italic_,
 *   ~~strike~~, [links](https://…), # headings, bullets) as Telegram HTML; everything else is
 *   escaped, so the output always parses. `plain` mode sends the text as is.
 * - Chunks are ≤ `limit` UTF-16 code units of HTML *source* (which is never shorter than the
 *   text Telegram counts after parsing, so the 4096 limit holds either way).
 * - A chunk never ends inside a code block or an entity: a code block too long for one message
 *   is split at line ends and every piece is a complete `<pre>`; an entity too long is split and
 *   re-opened. Breaks are preferred at paragraph, then line, then word boundaries; a single word
 *   longer than a message is split between grapheme clusters (never inside an emoji or a
 *   surrogate pair).
 * - Every chunk carries `plain`: the same visible text without formatting, for the
 *   "can't parse entities" fallback.
 */
import { TELEGRAM_DEFAULTS } from './config.js';

export interface Chunk {
  /** What to send; with `parseMode` it is Telegram HTML. */
  text: string;
  parseMode?: 'HTML';
  /** The visible text without formatting (the plain-text fallback). */
  plain: string;
}

export interface RenderOptions {
  mode?: 'html' | 'plain';
  /** Default 4096. */
  limit?: number;
}

/** A piece of output that is balanced on its own; `parts` splits it when it does not fit. */
interface Unit {
  html: string;
  plain: string;
  /** Joins this unit to the one before it in the same chunk. */
  sep: string;
  /** Smaller units with the same content; `budget` is the room left in the current chunk. */
  parts?: (budget: number) => Unit[];
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeHtml(s).replace(/"/g, '&quot;');

/** Splits `text` into reply chunks. Empty (whitespace-only) input gives no chunks. */
export function renderReply(text: string, options: RenderOptions = {}): Chunk[] {
  const limit = options.limit ?? TELEGRAM_DEFAULTS.maxMessageLength;
  const html = (options.mode ?? 'html') === 'html';
  const esc = html ? escapeHtml : (s: string) => s;
  const units = html ? markdownBlocks(text, limit) : plainBlocks(text, limit);
  return pack(units, limit)
    .map((c) => ({ html: c.html.trim(), plain: c.plain.trim() }))
    .filter((c) => c.plain.length > 0)
    .map((c) => (html ? { text: c.html, parseMode: 'HTML' as const, plain: c.plain } : { text: esc(c.plain), plain: c.plain }));
}

/** Plain text in chunks (command answers, fallbacks): the same boundaries, no formatting. */
export function plainChunks(text: string, limit: number = TELEGRAM_DEFAULTS.maxMessageLength): string[] {
  return renderReply(text, { mode: 'plain', limit }).map((c) => c.plain);
}

// ---------------------------------------------------------------------------------------------
// packing

function pack(units: Unit[], limit: number): Array<{ html: string; plain: string }> {
  const chunks: Array<{ html: string; plain: string }> = [];
  let cur = { html: '', plain: '' };
  const flush = () => {
    if (cur.html.length > 0) chunks.push(cur);
    cur = { html: '', plain: '' };
  };
  const add = (u: Unit) => {
    const empty = cur.html.length === 0;
    const sep = empty ? '' : u.sep;
    if (cur.html.length + sep.length + u.html.length <= limit) {
      cur = { html: cur.html + sep + u.html, plain: cur.plain + sep + u.plain };
      return;
    }
    if (!u.parts) {
      // Leaves are built to fit an empty chunk.
      flush();
      cur = { html: u.html, plain: u.plain };
      return;
    }
    if (u.html.length <= limit) {
      flush();
      cur = { html: u.html, plain: u.plain };
      return;
    }
    const parts = u.parts(empty ? limit : limit - cur.html.length - sep.length);
    parts.forEach((p, i) => add(i === 0 ? { ...p, sep: u.sep } : p));
  };
  units.forEach(add);
  flush();
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// blocks

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;

interface Block {
  kind: 'text' | 'code';
  lines: string[];
  lang?: string;
  /** Newlines before the block in the source (1 or 2). */
  sep: string;
}

function splitBlocks(text: string, withCode: boolean): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let blank = 0;
  let para: Block | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = withCode ? FENCE.exec(line) : null;
    if (fence) {
      const marker = fence[1]!;
      const body: string[] = [];
      let j = i + 1;
      // An unclosed fence runs to the end, as Markdown renders it.
      while (j < lines.length && !new RegExp(`^\\s{0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`).test(lines[j]!)) body.push(lines[j++]!);
      blocks.push({ kind: 'code', lines: body, ...(fence[2] ? { lang: fence[2] } : {}), sep: blank > 0 ? '\n\n' : '\n' });
      para = undefined;
      blank = 0;
      i = j;
      continue;
    }
    if (line.trim() === '') {
      blank++;
      para = undefined;
      continue;
    }
    if (!para) {
      para = { kind: 'text', lines: [], sep: blank > 0 ? '\n\n' : '\n' };
      blocks.push(para);
    }
    para.lines.push(line);
    blank = 0;
  }
  return blocks;
}

function markdownBlocks(text: string, limit: number): Unit[] {
  return splitBlocks(text, true).map((b) => (b.kind === 'code' ? codeUnit(b, limit) : paragraphUnit(b, limit, true)));
}

function plainBlocks(text: string, limit: number): Unit[] {
  return splitBlocks(text, false).map((b) => paragraphUnit(b, limit, false));
}

function paragraphUnit(block: Block, limit: number, html: boolean): Unit {
  const lines = block.lines.map((line) => lineUnit(line, limit, html));
  return {
    html: lines.map((l) => l.html).join('\n'),
    plain: lines.map((l) => l.plain).join('\n'),
    sep: block.sep,
    parts: () => lines,
  };
}

function lineUnit(line: string, limit: number, html: boolean): Unit {
  const tokens = html ? inlineTokens(line, limit) : words(line).map((w) => leaf(w, w, '', limit, '', ''));
  return { html: tokens.map((t) => t.html).join(''), plain: tokens.map((t) => t.plain).join(''), sep: '\n', parts: () => tokens };
}

function codeUnit(block: Block, limit: number): Unit {
  const open = `<pre><code${block.lang ? ` class="language-${escapeAttr(block.lang)}"` : ''}>`;
  const close = '</code></pre>';
  const body = block.lines.join('\n');
  const whole = { html: `${open}${escapeHtml(body)}${close}`, plain: body, sep: block.sep };
  const room = limit - open.length - close.length;
  return {
    ...whole,
    parts: (budget) => {
      // Lines longer than a whole message are cut between graphemes first.
      const lines = block.lines.flatMap((l) => (escapeHtml(l).length <= room ? [l] : hardSplit(l, room, escapeHtml)));
      const groups: string[][] = [];
      let group: string[] = [];
      let size = 0;
      // The first piece may fill what is left of the current chunk; the rest get whole messages.
      let cap = Math.max(0, budget - open.length - close.length);
      for (const line of lines) {
        const n = escapeHtml(line).length;
        const add = group.length > 0 ? n + 1 : n;
        if (size + add > cap) {
          if (group.length > 0) groups.push(group);
          group = [line];
          size = n;
          cap = room;
          continue;
        }
        group.push(line);
        size += add;
      }
      groups.push(group);
      return groups
        .filter((g) => g.length > 0)
        .map((g, i) => ({ html: `${open}${escapeHtml(g.join('\n'))}${close}`, plain: g.join('\n'), sep: i === 0 ? block.sep : '\n' }));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// inline Markdown

const INLINE = new RegExp(
  [
    '(`+)([^`\\n]+?)\\1', // 1,2 inline code
    '\\*\\*(?!\\s)(.+?)(?<!\\s)\\*\\*', // 3 bold
    '__(?!\\s)(.+?)(?<!\\s)__', // 4 bold
    '~~(?!\\s)(.+?)(?<!\\s)~~', // 5 strike
    '\\[([^\\]\\n]+)\\]\\(((?:https?|tg|mailto):[^)\\s]+)\\)', // 6,7 link
    '(?<![\\p{L}\\p{N}*\\\\])\\*(?![\\s*])([^*\\n]+?)(?<![\\s\\\\])\\*(?![\\p{L}\\p{N}*])', // 8 italic
    '(?<![\\p{L}\\p{N}_\\\\])_(?![\\s_])([^_\\n]+?)(?<!\\s)_(?![\\p{L}\\p{N}_])', // 9 italic
  ].join('|'),
  'gu',
);

function inlineTokens(rawLine: string, limit: number): Unit[] {
  let line = rawLine;
  let heading = false;
  const h = /^\s{0,3}#{1,6}\s+(.*)$/.exec(line);
  if (h) {
    line = h[1]!;
    heading = true;
  }
  // "- item" / "* item" bullets: shown as "• item" (a leading "* " would read as italic).
  line = line.replace(/^(\s*)[-*+]\s+/, '$1• ');
  const tokens: Unit[] = [];
  const text = (s: string) => words(s).forEach((w) => tokens.push(leaf(escapeHtml(w), w, '', limit, '', '')));
  let last = 0;
  for (const m of line.matchAll(INLINE)) {
    text(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== undefined) tokens.push(leaf(`<code>${escapeHtml(m[2])}</code>`, m[2], '', limit, '<code>', '</code>'));
    else if (m[3] !== undefined || m[4] !== undefined) tokens.push(leaf(`<b>${escapeHtml(m[3] ?? m[4]!)}</b>`, m[3] ?? m[4]!, '', limit, '<b>', '</b>'));
    else if (m[5] !== undefined) tokens.push(leaf(`<s>${escapeHtml(m[5])}</s>`, m[5], '', limit, '<s>', '</s>'));
    else if (m[6] !== undefined) {
      const open = `<a href="${escapeAttr(m[7]!)}">`;
      tokens.push(leaf(`${open}${escapeHtml(m[6])}</a>`, m[6], '', limit, open, '</a>'));
    } else {
      const inner = m[8] ?? m[9]!;
      tokens.push(leaf(`<i>${escapeHtml(inner)}</i>`, inner, '', limit, '<i>', '</i>'));
    }
  }
  text(line.slice(last));
  if (!heading) return tokens;
  // A heading is bold as a whole; its inline tokens lose their own formatting.
  const plain = tokens.map((t) => t.plain).join('');
  return [leaf(`<b>${escapeHtml(plain)}</b>`, plain, '', limit, '<b>', '</b>')];
}

/** Words with their trailing whitespace, so joining them gives the text back. */
function words(s: string): string[] {
  return s.length === 0 ? [] : s.split(/(?<=\s)(?=\S)/u);
}

/** An atomic token; one longer than a message becomes several, each wrapped in the same tags. */
function leaf(html: string, plain: string, sep: string, limit: number, open: string, close: string): Unit {
  if (html.length <= limit) return { html, plain, sep };
  const room = limit - open.length - close.length;
  const esc = open || html !== plain ? escapeHtml : (s: string) => s;
  const pieces = hardSplit(plain, room, esc);
  return { html, plain, sep, parts: () => pieces.map((p) => ({ html: `${open}${esc(p)}${close}`, plain: p, sep: '' })) };
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Cuts `s` into pieces whose rendering (`render`) is ≤ `room`, only between grapheme clusters. */
export function hardSplit(s: string, room: number, render: (s: string) => string = (x) => x): string[] {
  const pieces: string[] = [];
  let piece = '';
  let size = 0;
  for (const { segment } of graphemes.segment(s)) {
    const n = render(segment).length;
    if (size + n > room && piece.length > 0) {
      pieces.push(piece);
      piece = '';
      size = 0;
    }
    piece += segment;
    size += n;
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}
