/**
 * WhatsApp's pure parts: Markdown → WhatsApp markup and chunking, the bots.yaml entry (allowlist
 * notation, defaults), the definition (`missing` reads creds.json with node:fs only,
 * capabilities), the QR encoder against qrencode's output, libsignal's console lines held back.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import qrReference from './fixtures/qr-reference.json' with { type: 'json' };
import whatsapp from '../../../adapters/whatsapp/index.js';
import { canonicalUserEntry, WhatsAppAdapterConfig } from '../../../adapters/whatsapp/config.js';
import { decodeAddress, encodeAddress } from '../../../adapters/whatsapp/address.js';
import { decideDisconnect } from '../../../adapters/whatsapp/api-errors.js';
import { isLibsignalLine, quietLibsignalConsole } from '../../../adapters/whatsapp/libsignal-console.js';
import { encodeQr, renderQrForTerminal } from '../../../adapters/whatsapp/qr-code.js';
import { renderWhatsApp, stripMarkers, toWhatsApp } from '../../../adapters/whatsapp/render.js';
import { whatsappConfig } from './harness.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('render', () => {
  it('converts Markdown to WhatsApp markup and leaves code alone', () => {
    expect(toWhatsApp('# Plan\n**bold**, __bold__, *it*, _it_, ~~gone~~, `a **b**` and [docs](https://x.test)')).toBe('*Plan*\n*bold*, *bold*, _it_, _it_, ~gone~, `a **b**` and docs (https://x.test)');
    expect(toWhatsApp('```python\nx = **y**\n```')).toBe('```\nx = **y**\n```');
    expect(toWhatsApp('* one\n+ two\n- three')).toBe('- one\n- two\n- three');
  });

  it('turns a table into an aligned code block', () => {
    expect(toWhatsApp('| name | n |\n|------|---|\n| **ab** | 1 |\n| c | 22 |')).toBe('```\nname | n\n-----+---\nab   | 1\nc    | 22\n```');
  });

  it('chunks at ~4000 characters at paragraph ends, never inside a code block', () => {
    const para = 'word '.repeat(150).trim();
    const code = Array.from({ length: 150 }, (_, i) => `line ${i} ${'x'.repeat(30)}`).join('\n');
    const chunks = renderWhatsApp(`${para}\n\n${para}\n\n\`\`\`\n${code}\n\`\`\`\n\n${para}`, 'markdown');
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(4000);
      expect((c.text.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(renderWhatsApp('   \n', 'markdown')).toEqual([]);
  });

  it('plain text for the fallback drops the markers', () => {
    expect(stripMarkers('*bold* and _it_ and ~x~ and `code`')).toBe('bold and it and x and code');
    expect(renderWhatsApp('**hi**', 'plain')).toEqual([{ text: '**hi**', plain: '**hi**', formatted: false }]);
  });
});

describe('config', () => {
  it('reads allowlists in any phone notation and LIDs, and rejects anything else', () => {
    expect(['+49 151 1234-5678', '4915112345678', '4915112345678@s.whatsapp.net', '4915112345678:3@s.whatsapp.net', '201234567890123@lid', 'lid:201234567890123'].map(canonicalUserEntry)).toEqual([
      '4915112345678',
      '4915112345678',
      '4915112345678',
      '4915112345678',
      'lid:201234567890123',
      'lid:201234567890123',
    ]);
    expect(canonicalUserEntry('alice')).toBeNull();
    expect(() => whatsappConfig({ allowed_users: ['alice'] })).toThrow(/not a phone number in E\.164/);
  });

  it('fills the defaults', () => {
    const c = whatsappConfig({ id: 'support', send_interval_ms: undefined });
    expect(c).toMatchObject({ auth_store: 'file', ws_url: 'wss://web.whatsapp.com/ws/chat', read_receipts: true, send_interval_ms: 1000, leader: 'auto', leader_ttl_ms: 10_000 });
    expect(c.auth_dir).toBe(path.join(os.homedir(), '.bothost', 'whatsapp', 'support'));
    expect(whatsappConfig({ allowed_groups: ['120363041234567890'] }).allowed_groups).toEqual(['120363041234567890@g.us']);
    expect(() => WhatsAppAdapterConfig.parse({ ...whatsappConfig(), auth_dri: '/x' })).toThrow();
  });
});

describe('definition', () => {
  it('says "not linked" until creds.json names an account', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bothost-wa-def-'));
    dirs.push(dir);
    const entry = { platform: 'whatsapp', id: 'support', auth_dir: dir };
    expect(whatsapp.missing(entry, 'bots[0]')).toBe('not linked: run `npx bot whatsapp login --bot support`');
    await writeFile(path.join(dir, 'creds.json'), '');
    expect(whatsapp.missing(entry, 'bots[0]')).toMatch(/not linked/);
    await writeFile(path.join(dir, 'creds.json'), JSON.stringify({ me: { id: '15550001111:7@s.whatsapp.net' } }));
    expect(whatsapp.missing(entry, 'bots[0]')).toBeNull();
    expect(whatsapp.missing({ platform: 'whatsapp', id: 'whatsapp', auth_dir: path.join(dir, 'none') }, 'x')).toBe('not linked: run `npx bot whatsapp login`');
  });

  it('declares a single-connection platform without edits', () => {
    expect(whatsapp.capabilities(whatsappConfig())).toMatchObject({ edits: false, typing: true, singleConnection: true, markdown: 'whatsapp', maxMessageLength: 4000, redelivers: false });
    expect(Object.keys(whatsapp.actions ?? {})).toEqual(['login', 'logout', 'import-auth']);
  });

  it('maps every DisconnectReason to one decision', () => {
    expect([515, 428, 408, 503, 500, 440, 401, 403, 411, 999, undefined].map(decideDisconnect)).toEqual(['restart', 'backoff', 'backoff', 'backoff', 'backoff', 'replaced', 'logged_out', 'fatal', 'fatal', 'backoff', 'backoff']);
  });

  it('round-trips a reply address and refuses foreign ones', () => {
    const a = { chat: '120363041234567890@g.us', quote: { id: 'ABC', participant: '4915112345678@s.whatsapp.net', text: 'q'.repeat(500) } };
    expect(decodeAddress(encodeAddress(a))).toEqual({ ...a, quote: { ...a.quote, text: 'q'.repeat(200) } });
    expect(() => decodeAddress('{"chat":1}')).toThrow(/not a WhatsApp reply address/);
  });
});

describe('QR code', () => {
  it('matches qrencode module for module (same mask), small to large versions', () => {
    for (const c of qrReference.cases) {
      const rows = encodeQr(c.text, c.ecc as 'L' | 'M', c.mask).map((r) => r.map((b) => (b ? '1' : '0')).join(''));
      expect(rows, `${c.ecc} ${c.text.slice(0, 20)}`).toEqual(c.rows);
    }
  });

  it('draws two module rows per line, with a quiet zone', () => {
    const modules = encodeQr('hello');
    const text = renderQrForTerminal(modules, { margin: 2 });
    expect(text.split('\n')).toHaveLength(Math.ceil((modules.length + 4) / 2));
    expect(text.split('\n')[0]).toBe('█'.repeat(modules.length + 4));
  });
});

describe('libsignal console', () => {
  it('holds back session dumps (private keys) and passes other lines through', () => {
    const seen: string[] = [];
    const spy = vi.spyOn(console, 'info').mockImplementation((...args: unknown[]) => void seen.push(String(args[0])));
    const logged: string[] = [];
    try {
      quietLibsignalConsole({ debug: (_o, m) => void logged.push(m ?? ''), info() {}, warn() {}, error() {} });
      console.info('Closing session:', { privKey: Buffer.from('secret') });
      console.info('an ordinary line');
    } finally {
      spy.mockRestore();
    }
    expect(isLibsignalLine('Closing session:')).toBe(true);
    expect(logged).toEqual(['libsignal: Closing session:']);
    expect(seen).not.toContain('Closing session:');
  });
});
