/**
 * The part of a baileys socket this adapter uses, and the factory that makes one. Tests inject
 * a factory returning a fake built on baileys' own event buffer (`makeEventBuffer`) and message
 * types; production uses `baileysSocketFactory` (baileys' `makeWASocket`).
 */
import type { AnyMessageContent, AuthenticationState, BaileysEventEmitter, Contact, MiscMessageGenerationOptions, WAMessage, WAMessageKey, WAPresence, proto } from 'baileys';
import type { AdapterLogger } from '../../src/core/adapter.js';
import { DecryptFailureLog, isDecryptFailure } from './decrypt-log.js';

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
  const problem = (level: 'warn' | 'error') => (obj: unknown, msg?: string) => {
    if (isDecryptFailure(msg, obj)) {
      decryptLog.report(chatOf(obj), msg ?? 'decrypt failure');
      return;
    }
    logger[level](fields(obj), msg && `baileys: ${msg}`);
  };
  const self = {
    level: 'debug',
    child: (more: Record<string, unknown>) => baileysLogger(logger, decryptLog, { ...bindings, ...more }),
    trace: () => undefined,
    debug: (obj: unknown, msg?: string) => logger.debug(fields(obj), msg && `baileys: ${msg}`),
    info: (obj: unknown, msg?: string) => logger.debug(fields(obj), msg && `baileys: ${msg}`),
    warn: problem('warn'),
    error: problem('error'),
  };
  return self;
}

/** The real socket (loads baileys). */
export const baileysSocketFactory: SocketFactory = async (options) => {
  const { makeWASocket, makeCacheableSignalKeyStore, Browsers } = await import('baileys');
  const logger = baileysLogger(options.logger, options.decryptLog);
  return makeWASocket({
    waWebSocketUrl: options.wsUrl,
    auth: { creds: options.auth.creds, keys: makeCacheableSignalKeyStore(options.auth.keys, logger as never) },
    logger: logger as never,
    browser: Browsers.ubuntu('bothost'),
    markOnlineOnConnect: false,
    syncFullHistory: false,
    shouldSyncHistoryMessage: () => false,
    getMessage: options.getMessage,
  }) as unknown as WhatsAppSocket;
};
