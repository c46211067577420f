/**
 * Model Markdown → WhatsApp messages. WhatsApp's own markup: `*bold*`, `_italic_`, `~strike~`,
 * `` `inline` `` and ``` blocks, `> ` quotes, `- ` / `1. ` lists. There are no headings (they
 * become bold lines), no links with text (`[t](u)` becomes `t (u)`) and no tables (a table
 * becomes a code block, so its columns stay aligned in the monospace font). Code is passed
 * through untouched; a fence's language tag is dropped (WhatsApp would show it as text).
 *
 * Chunks are cut at ~4000 characters at paragraph / line ends by `splitMarkdown`, never inside a
 * code block. WhatsApp has no way to escape markup and never rejects it, so `plain` is the text
 * without the markers (used only if the host ever asks for a plain resend).
 */
import type { OutboundChunk } from '../../src/core/adapter.js';
import { splitMarkdown } from '../../src/core/split-text.js';
import { WHATSAPP_DEFAULTS } from './config.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const TABLE_ROW = /^\s*\|.*\|\s*$/;
const TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const BOLD = '\u0001';

/** Inline Markdown (one line, outside code spans) → WhatsApp markup. */
function inline(s: string): string {
  return s
    .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (_m, alt: string, url: string) => (alt ? `${alt} (${url})` : url))
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, t: string, url: string) => (t === url ? url : `${t} (${url})`))
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, `${BOLD}$2${BOLD}`)
    .replace(/(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])/g, '_$1_')
    .replace(/~~(?=\S)(.+?)(?<=\S)~~/g, '~$1~')
    .replaceAll(BOLD, '*');
}

/** One line outside code blocks: inline code spans kept as they are, the rest converted. */
function line(s: string): string {
  const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(s);
  if (heading) return heading[1] ? `*${stripMarkers(inline(heading[1]))}*` : '';
  if (/^ {0,3}([-*_])( *\1){2,} *$/.test(s)) return '──────────';
  const bullet = /^(\s*)[*+]\s+(.*)$/.exec(s);
  const body = bullet ? `${bullet[1]}- ${bullet[2]}` : s;
  return body
    .split(/(`[^`]+`)/g)
    .map((part, i) => (i % 2 === 1 ? part : inline(part)))
    .join('');
}

/** Markdown → WhatsApp markup (whole text, before splitting). */
export function toWhatsApp(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const fence = FENCE.exec(l);
    if (fence) {
      const mark = fence[1]!;
      out.push('```');
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = FENCE.exec(lines[j]!);
        if (close && close[1]![0] === mark[0] && close[1]!.length >= mark.length && close[2]!.trim() === '') break;
        out.push(lines[j]!);
      }
      out.push('```');
      i = j;
      continue;
    }
    if (TABLE_ROW.test(l) && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]!)) {
      const rows: string[][] = [];
      let j = i;
      for (; j < lines.length && TABLE_ROW.test(lines[j]!); j++) {
        if (j === i + 1) continue;
        rows.push(lines[j]!.trim().replace(/^\||\|$/g, '').split('|').map((c) => stripMarkers(c.trim())));
      }
      out.push('```', ...alignTable(rows), '```');
      i = j - 1;
      continue;
    }
    out.push(line(l));
  }
  return out.join('\n');
}

function alignTable(rows: string[][]): string[] {
  const cols = Math.max(...rows.map((r) => r.length));
  const width = Array.from({ length: cols }, (_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows.map((r, k) => {
    const cells = width.map((w, c) => (r[c] ?? '').padEnd(w));
    const row = cells.join(' | ').trimEnd();
    return k === 0 && rows.length > 1 ? `${row}\n${width.map((w) => '-'.repeat(w)).join('-+-')}` : row;
  });
}

/** The visible text without WhatsApp's markers (code blocks keep their content). */
export function stripMarkers(s: string): string {
  return s
    .split(/(```[\s\S]*?```|`[^`\n]+`)/g)
    .map((part, i) => (i % 2 === 1 ? part.replace(/^```\n?|\n?```$/g, '').replace(/^`|`$/g, '') : part.replace(/(^|[\s(])[*_~]+(?=\S)|(?<=\S)[*_~]+(?=$|[\s).,;:!?])/gm, '$1')))
    .join('');
}

export function renderWhatsApp(text: string, mode: 'markdown' | 'plain', limit: number = WHATSAPP_DEFAULTS.maxMessageLength): OutboundChunk[] {
  if (mode === 'plain') return splitMarkdown(text, limit, 'utf16').map((t) => ({ text: t, plain: t, formatted: false }));
  return splitMarkdown(toWhatsApp(text), limit, 'utf16').map((t) => ({ text: t, plain: stripMarkers(t), formatted: true }));
}
