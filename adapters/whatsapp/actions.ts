/**
 * `bot whatsapp login | logout | import-auth`: linking this bot as a WhatsApp device, unlinking
 * it, and bringing a linked device's state from another tool. Loaded only when an action runs.
 */
import path from 'node:path';
import type { AdapterLogger, LeadershipSource } from '../../src/core/adapter.js';
import { authStoreFor } from './adapter.js';
import { statusCodeOf } from './api-errors.js';
import { CREDS_KEY, isLinked, openAuthState, parseCreds, type WhatsAppAuthState } from './auth-state/auth-state.js';
import { FileKeyValue } from './auth-state/file-key-value.js';
import { describeStore, type AtomicKeyValue, type KeyValueSource } from './auth-state/key-value.js';
import { canonicalUserEntry, WHATSAPP_DEFAULTS, type WhatsAppAdapterConfig } from './config.js';
import { DecryptFailureLog } from './decrypt-log.js';
import { displayPhone } from './jid.js';
import { encodeQr, renderQrForTerminal } from './qr-code.js';
import { baileysSocketFactory, moduleSocketFactory, type SocketFactory, type WhatsAppSocket } from './socket.js';

export interface ActionContext {
  args: readonly string[];
  options: Record<string, unknown>;
  say(line: string): void;
  logger: AdapterLogger;
  leadership?: LeadershipSource;
  /** The bot's key-value state kept with the sessions (Redis / Postgres stores), for `auth_store: store`. */
  keyValue?: KeyValueSource;
}

/** What tests replace: the socket (a fake WhatsApp) and the auth store. */
export interface ActionDeps {
  socketFactory?: SocketFactory;
  store?: AtomicKeyValue;
  /** How long the phone has to scan / type the code (default 3 minutes). */
  timeoutMs?: number;
  /** Draw QR codes with ANSI colours (default: when stdout is a terminal). */
  ansi?: boolean;
}

const IMPORT_BATCH = 500;

function storeOf(config: WhatsAppAdapterConfig, context: ActionContext, deps: ActionDeps): AtomicKeyValue {
  return deps.store ?? authStoreFor(config, context);
}

type LinkStep = { kind: 'linked'; jid: string | undefined } | { kind: 'restart' } | { kind: 'failed'; code: number | undefined; reason: string };

/** One socket during linking: shows QR codes / requests the pairing code, resolves how it ended. */
function linkingSocket(sock: WhatsAppSocket, auth: WhatsAppAuthState, context: ActionContext, phone: string | undefined, ansi: boolean, signal: AbortSignal): Promise<LinkStep> {
  return new Promise<LinkStep>((resolve) => {
    let codeAsked = false;
    let shown = 0;
    const abort = () => void Promise.resolve(sock.end(undefined)).catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    sock.ev.on('creds.update', () => void auth.saveCreds().catch((err: Error) => context.say(`could not save the credentials: ${err.message}`)));
    sock.ev.on('connection.update', (u) => {
      if (u.qr && phone === undefined) {
        shown++;
        context.say(shown === 1 ? 'Scan this QR code with WhatsApp on the phone: Settings → Linked devices → Link a device.' : 'WhatsApp rotated the QR code; scan this one:');
        context.say(renderQrForTerminal(encodeQr(u.qr), { ansi }));
      }
      if (u.qr && phone !== undefined && !codeAsked) {
        codeAsked = true;
        sock
          .requestPairingCode(phone)
          .then((code) => context.say(`Pairing code: ${code.slice(0, 4)}-${code.slice(4)}\nOn the phone (${'+' + phone}): WhatsApp → Settings → Linked devices → Link a device → Link with phone number instead, and type it.`))
          .catch((err: Error) => context.say(`WhatsApp did not give a pairing code: ${err.message}`));
      }
      if (u.connection === 'open') {
        signal.removeEventListener('abort', abort);
        resolve({ kind: 'linked', jid: auth.state.creds.me?.id ?? sock.user?.id });
      }
      if (u.connection === 'close') {
        signal.removeEventListener('abort', abort);
        const code = statusCodeOf(u.lastDisconnect?.error);
        if (signal.aborted) return resolve({ kind: 'failed', code, reason: 'timeout' });
        if (code === 515) return resolve({ kind: 'restart' });
        resolve({ kind: 'failed', code, reason: (u.lastDisconnect?.error as Error | undefined)?.message ?? 'closed' });
      }
    });
  });
}

/**
 * `login [--pairing-code +49…]`: links the device. Handles the 515 "restart required" WhatsApp
 * sends right after pairing (credentials flushed first, then reconnect) and ends with
 * "linked as +49…". Exit codes: 0 linked (or already linked), 1 expired / refused.
 */
export async function runLogin(config: WhatsAppAdapterConfig, context: ActionContext, deps: ActionDeps = {}): Promise<number> {
  const store = storeOf(config, context, deps);
  if (await isLinked(store)) {
    const [text] = await store.get([CREDS_KEY]);
    context.say(`bot "${config.id}" is already linked as ${displayPhone(parseCreds(text!, describeStore(store)).me?.id) ?? 'a WhatsApp account'} (${describeStore(store)}); run \`npx bot whatsapp logout\` first to link another`);
    return 0;
  }
  const rawPhone = context.options.pairingCode;
  let phone: string | undefined;
  if (rawPhone !== undefined) {
    const digits = typeof rawPhone === 'string' ? canonicalUserEntry(rawPhone) : null;
    if (!digits || digits.startsWith('lid:')) {
      context.say(`--pairing-code needs the phone's number in E.164, like +4915112345678 (got "${String(rawPhone)}")`);
      return 2;
    }
    phone = digits;
  }
  const factory = deps.socketFactory ?? (config.socket_module ? moduleSocketFactory(config.socket_module) : baileysSocketFactory);
  const timeout = AbortSignal.timeout(deps.timeoutMs ?? WHATSAPP_DEFAULTS.loginTimeoutMs);
  const decryptLog = new DecryptFailureLog(context.logger, WHATSAPP_DEFAULTS.decryptLogIntervalMs);
  const ansi = deps.ansi ?? process.stdout.isTTY === true;
  for (let attempt = 0; attempt < 5; attempt++) {
    const auth = await openAuthState(store, context.logger);
    const sock = await factory({ auth: auth.state, wsUrl: config.ws_url, logger: context.logger, decryptLog, getMessage: async () => undefined });
    const step = await linkingSocket(sock, auth, context, phone, ansi, timeout);
    await auth.flush();
    if (step.kind === 'restart') {
      context.say('Paired; WhatsApp asked for a restart, reconnecting with the new credentials…');
      continue;
    }
    if (step.kind === 'linked') {
      await Promise.resolve(sock.end(undefined)).catch(() => undefined);
      await auth.flush();
      context.say(`linked as ${displayPhone(step.jid) ?? step.jid ?? 'a WhatsApp account'} (auth state: ${describeStore(store)})`);
      return 0;
    }
    if (step.reason === 'timeout' || step.code === 408) {
      context.say(phone ? 'The pairing code expired before it was typed on the phone: run login again.' : 'The QR code expired (no phone scanned it in time): run login again.');
    } else if (step.code === 401) {
      context.say('WhatsApp refused the link (401): on the phone, remove old linked devices if the limit is reached, then run login again.');
    } else {
      context.say(`Linking failed (WhatsApp closed the connection with ${step.code ?? 'no status'}: ${step.reason}); run login again.`);
    }
    return 1;
  }
  context.say('WhatsApp asked for restarts again and again; run login again.');
  return 1;
}

/** `logout`: unlinks the device on WhatsApp's side (if it can connect) and wipes the auth state. */
export async function runLogout(config: WhatsAppAdapterConfig, context: ActionContext, deps: ActionDeps = {}): Promise<number> {
  const store = storeOf(config, context, deps);
  if (!(await isLinked(store))) {
    await store.clear();
    context.say(`bot "${config.id}" is not linked; nothing to log out (${describeStore(store)} cleared)`);
    return 0;
  }
  const auth = await openAuthState(store, context.logger);
  const factory = deps.socketFactory ?? (config.socket_module ? moduleSocketFactory(config.socket_module) : baileysSocketFactory);
  const sock = await factory({ auth: auth.state, wsUrl: config.ws_url, logger: context.logger, decryptLog: new DecryptFailureLog(context.logger, 60_000), getMessage: async () => undefined });
  const opened = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), deps.timeoutMs ?? 30_000);
    sock.ev.on('connection.update', (u) => {
      if (u.connection === 'open') (clearTimeout(t), resolve(true));
      if (u.connection === 'close') (clearTimeout(t), resolve(false));
    });
  });
  let unlinked = false;
  if (opened) unlinked = await sock.logout().then(() => true, () => false);
  await Promise.resolve(sock.end(undefined)).catch(() => undefined);
  await auth.flush().catch(() => undefined);
  await store.clear();
  context.say(
    unlinked
      ? `bot "${config.id}" logged out: the device is unlinked and its auth state (${describeStore(store)}) wiped`
      : `could not reach WhatsApp to unlink; the auth state (${describeStore(store)}) is wiped — remove the device on the phone under Settings → Linked devices`,
  );
  return 0;
}

/**
 * `import-auth DIR`: copies a baileys multi-file folder (`useMultiFileAuthState`) into this bot's
 * auth store, key by key in atomic batches, creds last — a crash mid-import leaves the bot
 * unlinked, never half-linked. Unreadable files (0 bytes, cut) are skipped and counted.
 */
export async function runImportAuth(config: WhatsAppAdapterConfig, context: ActionContext, deps: ActionDeps = {}): Promise<number> {
  const dir = context.args[0];
  if (!dir) {
    context.say('usage: bot whatsapp import-auth <dir>  (a folder written by baileys\' useMultiFileAuthState)');
    return 2;
  }
  const source = new FileKeyValue(path.resolve(dir));
  const target = storeOf(config, context, deps);
  if (target instanceof FileKeyValue && path.resolve(target.dir) === path.resolve(dir)) {
    context.say(`${dir} is already this bot's auth_dir; nothing to import`);
    return 0;
  }
  const keys = await source.keys();
  if (!keys.includes(CREDS_KEY)) {
    context.say(`${dir} has no creds.json: not a baileys multi-file auth folder`);
    return 1;
  }
  const [credsText] = await source.get([CREDS_KEY]);
  const me = parseCreds(credsText!, source.describe).me?.id;
  if (!me) {
    context.say(`${dir}/creds.json is not linked to an account (no "me"); link with \`npx bot whatsapp login\` instead`);
    return 1;
  }
  if (await isLinked(target)) {
    context.say(`bot "${config.id}" is already linked (${describeStore(target)}); run \`npx bot whatsapp logout\` first`);
    return 1;
  }
  await target.clear();
  let copied = 0;
  let skipped = 0;
  const others = keys.filter((k) => k !== CREDS_KEY);
  for (let i = 0; i < others.length; i += IMPORT_BATCH) {
    const batch = others.slice(i, i + IMPORT_BATCH);
    const values = await source.get(batch);
    const changes: Record<string, string> = {};
    batch.forEach((k, j) => {
      const v = values[j];
      if (v && isJson(v)) changes[k] = v;
      else skipped++;
    });
    if (Object.keys(changes).length > 0) await target.set(changes);
    copied += Object.keys(changes).length;
  }
  await target.set({ [CREDS_KEY]: credsText! });
  context.say(`imported ${copied + 1} items from ${dir} into ${describeStore(target)}${skipped ? ` (${skipped} unreadable files skipped)` : ''}; linked as ${displayPhone(me) ?? me}`);
  return 0;
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** The definition's action entry points (commander passes `--pairing-code` as `pairingCode`). */
export const login = (config: WhatsAppAdapterConfig, context: ActionContext) => runLogin(config, context);
export const logout = (config: WhatsAppAdapterConfig, context: ActionContext) => runLogout(config, context);
export const importAuth = (config: WhatsAppAdapterConfig, context: ActionContext) => runImportAuth(config, context);

