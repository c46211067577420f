/**
 * The WhatsApp platform: a linked device (WhatsApp Web multi-device) through baileys. This
 * module stays light (zod, node:fs and core only): baileys loads in `create` and in the actions.
 *
 * `bot whatsapp login` links the device (QR in the terminal, or `--pairing-code +49…`),
 * `bot whatsapp logout` unlinks it and wipes its state, `bot whatsapp import-auth DIR` copies a
 * baileys multi-file folder into the configured auth store.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AdapterAction, AdapterDefinition } from '../../src/core/adapter.js';
import { defaultAuthDir, expandHome, notLinkedHint, WHATSAPP_DEFAULTS, WhatsAppAdapterConfig } from './config.js';

export { WhatsAppAdapterConfig, WHATSAPP_DEFAULTS };

/** Whether `dir/creds.json` names a linked account (JSON with `me.id`), read with node:fs only. */
export function credsFileLinked(dir: string): boolean {
  try {
    const creds = JSON.parse(readFileSync(path.join(dir, 'creds.json'), 'utf8')) as { me?: { id?: unknown } };
    return typeof creds.me?.id === 'string' && creds.me.id.length > 0;
  } catch {
    return false;
  }
}

const action = (name: 'login' | 'logout' | 'importAuth', description: string, extra: Partial<AdapterAction<WhatsAppAdapterConfig>> = {}): AdapterAction<WhatsAppAdapterConfig> => ({
  description,
  ...extra,
  run: async (config, context) => (await import('./actions.js'))[name](config, context),
});

const whatsapp: AdapterDefinition<WhatsAppAdapterConfig> = {
  platform: 'whatsapp',
  title: 'WhatsApp',
  schema: WhatsAppAdapterConfig as never,
  env: {},
  missing(entry) {
    const id = typeof entry.id === 'string' && entry.id ? entry.id : 'whatsapp';
    // Auth state in Redis/Postgres is checked when the bot starts (it needs the store's connection).
    if (entry.auth_store === 'store') return null;
    const dir = typeof entry.auth_dir === 'string' && entry.auth_dir ? expandHome(entry.auth_dir) : defaultAuthDir(id);
    return credsFileLinked(dir) ? null : notLinkedHint(id);
  },
  capabilities: (config) => ({
    edits: false,
    typing: true,
    threads: false,
    maxMessageLength: WHATSAPP_DEFAULTS.maxMessageLength,
    lengthUnit: 'utf16',
    singleConnection: true,
    markdown: 'whatsapp',
    editIntervalMs: 0,
    typingIntervalMs: config.typing_interval_ms,
    // Never sent again: a message the queue cannot take now is spooled by the host.
    redelivers: false,
  }),
  create: async (config, host) => (await import('./adapter.js')).createWhatsAppAdapter(config, host),
  actions: {
    login: action('login', 'link this bot as a WhatsApp device: scan the QR code drawn in the terminal, or type a pairing code on the phone', {
      options: [['--pairing-code <phone>', 'link with an 8-character code typed on the phone (E.164 number of that phone, e.g. +4915112345678)']],
    }),
    logout: action('logout', 'unlink this device from WhatsApp and wipe its auth state'),
    'import-auth': action('importAuth', 'copy a baileys multi-file auth folder (useMultiFileAuthState) into the configured auth store', { args: '<dir>' }),
  },
};

export default whatsapp;
