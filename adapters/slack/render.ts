/**
 * Model Markdown → Slack mrkdwn messages.
 *
 * - `**bold**`/`__bold__` → `*bold*`, `*italic*`/`_italic_` → `_italic_`, `~~strike~~` → `~strike~`,
 *   `` `code` `` and fenced blocks stay (the language tag is dropped: Slack would show it as
 *   text), `[text](url)` and `![alt](url)` → `<url|text>`, `# Heading` → `*Heading*`, `-`/`*`/`+`
 *   bullets → `•`, numbered lists and `> quotes` stay.
 * - `&`, `<` and `>` are escaped everywhere (Slack's rule, with or without mrkdwn), except the
 *   `>` that starts a quote and the brackets of the links this renderer writes.
 * - Messages are at most `limit` UTF-16 units of rendered text, split with `splitMarkdown`
 *   (paragraphs, lines, words; never inside a code block).
 * - Every chunk carries `plain`: the same visible text with the markers removed (still escaped),
 *   sent with mrkdwn off when Slack refuses the formatted one.
 */
import type { OutboundChunk } from '../../src/core/adapter.js';
import { splitMarkdown } from '../../src/core/split-text.js';
import { SLACK_DEFAULTS } from './config.js';

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A link target inside `<url|text>`: `|` and `>` would end it early. */
const escapeUrl = (s: string) => escapeText(s).replace(/\|/g, '%7C');
const escapeLabel = (s: string) => escapeText(s).replace(/\|/g, '¦');

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
// Markers never typed by a model; they keep converted bold from being read again as italic.
const BOLD = '\u0001';
const SLOT = '\u0002';

/** One line of prose (no code fences) → mrkdwn. */
export function renderInline(line: string): string {
  const slots: string[] = [];
  const hold = (s: string) => `${SLOT}${slots.push(s) - 1}${SLOT}`;
  // Code spans first: their content is literal.
  let s = line.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_, _ticks: string, code: string) => hold('`' + escapeText(code.replace(/`/g, 'ˋ')) + '`'));
  s = s.replace(/!?\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g, (_, label: string, url: string) =>
    hold(label.trim() === '' || label === url ? `<${escapeUrl(url)}>` : `<${escapeUrl(url)}|${escapeLabel(stripMarkers(label))}>`),
  );
  s = s.replace(/<(https?:\/\/[^\s>]+)>/g, (_, url: string) => hold(`<${escapeUrl(url)}>`));
  s = escapeText(s);
  s = s.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, `${BOLD}$1${BOLD}`).replace(/__(?=\S)([\s\S]*?\S)__/g, `${BOLD}$1${BOLD}`);
  s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, '$1_$2_');
  s = s.replace(/~~(?=\S)([\s\S]*?\S)~~/g, '~$1~');
  s = s.split(BOLD).join('*');
  return s.replace(new RegExp(`${SLOT}(\\d+)${SLOT}`, 'g'), (_, i: string) => slots[Number(i)]!);
}

function stripMarkers(s: string): string {
  return s.replace(/\*\*|__|~~|`/g, '');
}

/** Whole Markdown text → one mrkdwn text (not yet split). */
export function markdownToMrkdwn(text: string): string {
  const out: string[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      const mark = fence[1]!;
      out.push('```');
      let j = i + 1;
      for (; j < lines.length; j++) {
        const m = FENCE.exec(lines[j]!);
        if (m && m[1]![0] === mark[0] && m[1]!.length >= mark.length && m[2]!.trim() === '') break;
        // A line of three backticks inside the block would close it early in Slack.
        out.push(escapeText(lines[j]!).replace(/```/g, 'ˋˋˋ'));
      }
      out.push('```');
      i = j;
      continue;
    }
    out.push(renderLine(line));
  }
  return out.join('\n');
}

function renderLine(line: string): string {
  const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  if (heading) return heading[1] ? `*${renderInline(stripMarkers(heading[1]))}*` : '';
  if (/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) return '──────────';
  const quote = /^ {0,3}>\s?(.*)$/.exec(line);
  if (quote) return `> ${renderLine(quote[1]!)}`;
  const bullet = /^(\s*)[-*+]\s+(?:\[([ xX])\]\s+)?(.*)$/.exec(line);
  if (bullet) {
    const depth = Math.min(Math.floor(bullet[1]!.replace(/\t/g, '  ').length / 2), 4);
    const box = bullet[2] === undefined ? '' : bullet[2] === ' ' ? '☐ ' : '☑ ';
    return `${'    '.repeat(depth)}• ${box}${renderInline(bullet[3]!)}`;
  }
  const numbered = /^(\s*)(\d{1,9})[.)]\s+(.*)$/.exec(line);
  if (numbered) {
    const depth = Math.min(Math.floor(numbered[1]!.replace(/\t/g, '  ').length / 2), 4);
    return `${'    '.repeat(depth)}${numbered[2]}. ${renderInline(numbered[3]!)}`;
  }
  return renderInline(line);
}

/** mrkdwn → the same visible text without markers (links as `text (url)`), still escaped. */
export function mrkdwnToPlain(mrkdwn: string): string {
  const lines = mrkdwn.split('\n');
  let inCode = false;
  return lines
    .map((line) => {
      if (line.startsWith('```')) {
        inCode = !inCode;
        return line;
      }
      if (inCode) return line;
      return line
        .replace(/<([^|>]+)\|([^>]*)>/g, '$2 ($1)')
        .replace(/<([^|>]+)>/g, '$1')
        .replace(/(^|[^\w])[*_~](?=\S)([^*_~\n]*?\S)[*_~](?!\w)/g, '$1$2')
        .replace(/(^|[^\w])[*_~](?=\S)([^*_~\n]*?\S)[*_~](?!\w)/g, '$1$2');
    })
    .join('\n');
}

/**
 * Reply text → chunks of at most `limit` units. `plain` mode escapes and splits only.
 * Whitespace-only input gives no chunks.
 */
export function renderSlack(text: string, mode: 'markdown' | 'plain', limit: number = SLACK_DEFAULTS.maxMessageLength): OutboundChunk[] {
  if (mode === 'plain') {
    return splitMarkdown(escapeText(text), limit).map((t) => ({ text: t, plain: t, formatted: false }));
  }
  return splitMarkdown(markdownToMrkdwn(text), limit).map((t) => ({ text: t, plain: mrkdwnToPlain(t), formatted: true }));
}
