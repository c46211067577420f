/**
 * The part of a baileys socket this adapter uses, and the factory that makes one. Tests inject
 * a factory returning a fake built on baileys' own event buffer (`makeEventBuffer`) and message
 * types; production uses `baileysSocketFactory` (baileys' `makeWASocket`).
 */
import type { AnyMessageContent, AuthenticationState, BaileysEventEmitter, Contact, MiscMessageGenerationOptions, WAMessage, WAMessageKey, WAPresence, proto } from 'baileys';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AdapterLogger } from '../../src/core/adapter.js';
import { DecryptFailureLog, isDecryptFailure } from './decrypt-log.js';
import { quietLibsignalConsole } from './libsignal-console.js';

export interface WhatsAppSocket {
  readonly ev: BaileysEventEmitter;
  /** The linked account once the socket is open (`id`: PN JID with device, `lid`: its LID). */
  readonly user?: Contact | undefined;
  sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined>;
  sendPresenceUpdate(type: WAPresence, toJid?: string): Promise<void>;
  readMessages(keys: WAMessageKey[]): Promise<void>;
  /** Linking by code instead of QR (`login --pairing-code`). */
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Unlinks this device on WhatsApp's side. */
  logout(msg?: string): Promise<void>;
  /** Closes the socket; `connection.update` reports `close` with `error`'s status code. */
  end(error: Error | undefined): void | Promise<void>;
}

export interface SocketOptions {
  auth: AuthenticationState;
  wsUrl: string;
  logger: AdapterLogger;
  /** Messages this device sent recently, for WhatsApp's retry requests (a recipient that failed to decrypt). */
  getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined>;
  decryptLog: DecryptFailureLog;
}

export type SocketFactory = (options: SocketOptions) => WhatsAppSocket | Promise<WhatsAppSocket>;

/** baileys' pino-shaped logger over the host's: quieter (its info is our debug), decrypt floods rate-limited. */
export function baileysLogger(logger: AdapterLogger, decryptLog: DecryptFailureLog, bindings: Record<string, unknown> = {}) {
  const chatOf = (obj: unknown): string => {
    const o = obj as { key?: { remoteJid?: string }; sender?: string; author?: string } | undefined;
    return o?.key?.remoteJid ?? o?.sender ?? o?.author ?? 'unknown';
  };
  const fields = (obj: unknown): object => {
    if (obj instanceof Error) return { ...bindings, err: obj.message };
    if (obj && typeof obj === 'object') {
      const o = { ...bindings, ...(obj as Record<string, unknown>) };
      if (o.err instanceof Error) o.err = o.err.message;
      return o;
    }
    return { ...bindings, value: String(obj) };
  };
  // baileys logs either (object, message) or just a string.
  const text = (obj: unknown, msg?: string) => `baileys: ${msg ?? (typeof obj === 'string' ? obj : '')}`;
  const problem = (level: 'warn' | 'error') => (obj: unknown, msg?: string) => {
    if (isDecryptFailure(msg ?? (typeof obj === 'string' ? obj : undefined), obj)) {
      decryptLog.report(chatOf(obj), msg ?? 'decrypt failure');
      return;
    }
    logger[level](typeof obj === 'string' ? { ...bindings } : fields(obj), text(obj, msg));
  };
  const self = {
    level: 'debug',
    child: (more: Record<string, unknown>) => baileysLogger(logger, decryptLog, { ...bindings, ...more }),
    trace: () => undefined,
    debug: (obj: unknown, msg?: string) => logger.debug(typeof obj === 'string' ? { ...bindings } : fields(obj), text(obj, msg)),
    info: (obj: unknown, msg?: string) => logger.debug(typeof obj === 'string' ? { ...bindings } : fields(obj), text(obj, msg)),
    warn: problem('warn'),
    error: problem('error'),
  };
  return self;
}

/** The factory a module exports (bots.yaml `socket_module`), loaded on first use. */
export function moduleSocketFactory(modulePath: string): SocketFactory {
  let loaded: Promise<SocketFactory> | undefined;
  return async (options) => {
    loaded ??= import(pathToFileURL(path.resolve(modulePath)).href).then((m: { default?: unknown }) => {
      if (typeof m.default !== 'function') throw new Error(`socket_module ${modulePath} has no default export function (options) => socket`);
      return m.default as SocketFactory;
    });
    return (await loaded)(options);
  };
}

/** The real socket (loads baileys). */
export const baileysSocketFactory: SocketFactory = async (options) => {
  const { makeWASocket, makeCacheableSignalKeyStore, Browsers } = await import('baileys');
  quietLibsignalConsole(options.logger);
  const logger = baileysLogger(options.logger, options.decryptLog);
  const sock = makeWASocket({
    waWebSocketUrl: options.wsUrl,
    auth: { creds: options.auth.creds, keys: makeCacheableSignalKeyStore(options.auth.keys, logger as never) },
    logger: logger as never,
    browser: Browsers.ubuntu('bothost'),
    markOnlineOnConnect: false,
    syncFullHistory: false,
    getMessage: options.getMessage,
  });
  // baileys' end() drops the socket's 'close' listeners before closing it, so a query still in
  // flight keeps its 60 s timeout timer (and the process) alive. Its 'error' listeners fail those
  // queries at once and end the socket the same way.
  const end = sock.end;
  const ws = sock.ws as unknown as { listenerCount(e: string): number; emit(e: string, err: Error): boolean };
  return Object.assign(sock, {
    end: (error: Error | undefined) => {
      if (ws.listenerCount('error') > 0) ws.emit('error', error ?? new Error('closed by bothost'));
      return end(error);
    },
  }) as unknown as WhatsAppSocket;
};
