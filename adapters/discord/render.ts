/**
 * Model Markdown → Discord messages. Discord renders most of Markdown itself (bold, italics,
 * code, fences, quotes, lists, `#`–`###` headings, masked links), so the text is kept and only
 * what Discord would show raw is adapted, outside code blocks:
 * - headings deeper than `###` become bold lines;
 * - GitHub tables (which Discord does not render) are put in a code block, so columns stay aligned.
 * Then `splitMarkdown` cuts at 2000 (UTF-16 units — never more than Discord's count in code
 * points) between paragraphs, never inside a code block.
 *
 * Plain text (command answers, failures) has Markdown's characters escaped, so it shows as
 * typed. Discord never rejects a message for its formatting, so `plain` equals `text`.
 */
import type { OutboundChunk } from '../../src/core/adapter.js';
import { splitMarkdown } from '../../src/core/split-text.js';
import { DISCORD_DEFAULTS } from './config.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const DEEP_HEADING = /^ {0,3}#{4,}\s+(.*?)\s*#*\s*$/;
const TABLE_ROW = /^\s*\|.*\|\s*$/;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

/** Adapts Markdown for Discord (see the module comment); code blocks are left untouched. */
export function toDiscordMarkdown(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const f = FENCE.exec(line);
    if (fence !== undefined) {
      if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length) fence = undefined;
      out.push(line);
      continue;
    }
    if (f) {
      fence = f[1]!;
      out.push(line);
      continue;
    }
    if (TABLE_ROW.test(line) && TABLE_RULE.test(lines[i + 1] ?? '')) {
      const table: string[] = [];
      while (i < lines.length && (TABLE_ROW.test(lines[i]!) || TABLE_RULE.test(lines[i]!))) table.push(lines[i++]!.trim());
      i--;
      out.push('```', ...table, '```');
      continue;
    }
    const h = DEEP_HEADING.exec(line);
    out.push(h ? `**${h[1]}**` : line);
  }
  return out.join('\n');
}

/** Escapes Discord Markdown so `text` shows literally. */
export function escapeDiscordMarkdown(text: string): string {
  return text
    .replace(/[\\*_`~|[\]]/g, (c) => `\\${c}`)
    .replace(/^(\s*)(>|#{1,3}\s|-#\s|[-+]\s|\d+\.\s)/gm, (_, space: string, mark: string) => `${space}\\${mark}`);
}

/** Reply text → chunks within Discord's limit. Whitespace-only: no chunks. */
export function renderDiscord(text: string, mode: 'markdown' | 'plain', limit: number = DISCORD_DEFAULTS.maxMessageLength): OutboundChunk[] {
  const source = mode === 'markdown' ? toDiscordMarkdown(text) : escapeDiscordMarkdown(text);
  return splitMarkdown(source, limit, 'utf16').map((piece) => ({ text: piece, plain: piece, formatted: mode === 'markdown' }));
}
