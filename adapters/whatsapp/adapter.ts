/**
 * The WhatsApp adapter: one baileys socket per linked device, held only by the process that
 * holds the bot's leadership lease (`host.holdConnection`), feeding the host's ingress chain and
 * sending replies through `outbound` while connected.
 *
 * Connection policy (`api-errors.ts`): 515 → flush creds, reconnect at once (same lease);
 * 428/408/503/500 → close, and `holdConnection` reconnects after a jittered, capped backoff,
 * for ever; 440 → another process or device took the socket: stop (unless our lease was lost at
 * the same moment — then we simply stand by); 401 → wipe the auth state, stop, ask for `login`.
 *
 * @example
 * const adapter = createWhatsAppAdapter(WhatsAppAdapterConfig.parse(entry), host);
 * await adapter.start();   // resolves once the connection loop runs (connected or waiting for the lease)
 * await adapter.stop();
 */
import type { WAMessage, WAMessageKey, proto } from 'baileys';
import { AdapterFatalError, type AdapterHost, type AdapterLogger, type PlatformAdapter } from '../../src/core/adapter.js';
import { BotHostError, ConfigError } from '../../src/core/errors.js';
import type { InboundMessage } from '../../src/core/inbound.js';
import { decideDisconnect, statusCodeOf } from './api-errors.js';
import { isLinked, openAuthState, type WhatsAppAuthState } from './auth-state/auth-state.js';
import { FileKeyValue } from './auth-state/file-key-value.js';
import { AUTH_NAMESPACE, describeStore, type AtomicKeyValue, type KeyValueSource } from './auth-state/key-value.js';
import { notLinkedHint, WHATSAPP_DEFAULTS, type WhatsAppAdapterConfig } from './config.js';
import { DecryptFailureLog } from './decrypt-log.js';
import { IdentityResolver } from './identity.js';
import { displayPhone } from './jid.js';
import { normalizeMessage } from './normalize.js';
import { createWhatsAppOutbound } from './outbound.js';
import { ChatPacer } from './pacer.js';
import { baileysSocketFactory, moduleSocketFactory, type SocketFactory, type WhatsAppSocket } from './socket.js';

export interface WhatsAppAdapterOptions {
  /** Default: baileys' `makeWASocket`. Tests pass a fake. */
  socketFactory?: SocketFactory;
  /** Default: from `auth_store` (the `auth_dir` folder, or the host's key-value store). */
  authStore?: AtomicKeyValue;
  /** How long after a 440 the lease may still be reported lost before it counts as a takeover. */
  replacedGraceMs?: number;
  /** How long `stop` keeps the socket for replies still owed (default: the entry's `stop_grace_ms`). */
  stopGraceMs?: number;
}

/** baileys' StubType.CIPHERTEXT: a message that could not be decrypted (a placeholder). */
const STUB_CIPHERTEXT = 2;
const RECENT_SENT_LIMIT = 500;
const INGEST_RETRY_MS = { initial: 500, max: 30_000 } as const;

/** The auth state's store for this entry. */
export function authStoreFor(config: WhatsAppAdapterConfig, context: { keyValue?: KeyValueSource | undefined }): AtomicKeyValue {
  if (config.auth_store === 'file') return new FileKeyValue(config.auth_dir);
  if (!context.keyValue) throw new ConfigError(`bot "${config.id}" has auth_store: store, but bots.yaml configures no Redis or Postgres store: set store.backend (redis or postgres), or use auth_store: file`, 'auth_store');
  return context.keyValue(AUTH_NAMESPACE);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

type SocketEnd = 'stopped' | 'restart';

export function createWhatsAppAdapter(config: WhatsAppAdapterConfig, host: AdapterHost, options: WhatsAppAdapterOptions = {}): PlatformAdapter {
  const logger: AdapterLogger = host.logger;
  const store = options.authStore ?? authStoreFor(config, host);
  const factory = options.socketFactory ?? (config.socket_module ? moduleSocketFactory(config.socket_module) : baileysSocketFactory);
  const replacedGraceMs = options.replacedGraceMs ?? 2_000;
  const decryptLog = new DecryptFailureLog(logger, WHATSAPP_DEFAULTS.decryptLogIntervalMs);
  const pacer = new ChatPacer(config.send_interval_ms);
  const allowedGroups = config.allowed_groups ? new Set(config.allowed_groups) : undefined;
  const recentSent = new Map<string, proto.IMessage>();
  const stopping = new AbortController();
  const chatQueues = new Map<string, Promise<void>>();
  let current: WhatsAppSocket | undefined;
  let account: string | undefined;
  let started: Promise<void> | undefined;
  let held: Promise<void> | undefined;
  /** Settles `start`: the first socket opened or closed, or the lease is not ours yet. */
  let running: (() => void) | undefined;
  let connecting = false;
  let stopped: Promise<void> | undefined;

  /** Replies this process still owes (embedded mode): stop keeps the socket until they went out. */
  const owed = new Map<string, number>();
  let receiving = true;
  let lastActivity = 0;
  const owe = (address: string) => owed.set(address, (owed.get(address) ?? 0) + 1);
  const repay = (address: string) => {
    const n = (owed.get(address) ?? 0) - 1;
    if (n > 0) owed.set(address, n);
    else owed.delete(address);
  };

  const base = createWhatsAppOutbound({
    socket: () => current,
    pacer,
    logger,
    maxMessageLength: WHATSAPP_DEFAULTS.maxMessageLength,
    sent(message) {
      if (!message.key.id || !message.message) return;
      recentSent.set(message.key.id, message.message);
      if (recentSent.size > RECENT_SENT_LIMIT) recentSent.delete(recentSent.keys().next().value!);
    },
  });
  // The host calls idle(address) when a reply is complete: that settles what the address is owed.
  const active = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => {
    lastActivity = Date.now();
    return fn(...args);
  };
  const outbound = {
    ...base,
    send: active(base.send),
    typing: active(base.typing!),
    async idle(address: string) {
      try {
        await base.idle!(address);
      } finally {
        repay(address);
      }
    },
  };

  /** Feeds one message to the host, retrying while the queue cannot take it (WhatsApp does not redeliver). */
  async function ingest(sock: WhatsAppSocket, msg: WAMessage, inbound: InboundMessage): Promise<void> {
    let wait: number = INGEST_RETRY_MS.initial;
    for (;;) {
      let outcome;
      try {
        outcome = await host.ingest(inbound);
      } catch (err) {
        if (!(err instanceof BotHostError) || !['STORE_FAILED', 'QUEUE_CLOSED', 'LOCK_TIMEOUT'].includes(err.code)) {
          logger.error({ message: inbound.messageId, err: (err as Error).message }, 'WhatsApp message not handled');
          return;
        }
        outcome = 'retry' as const;
      }
      if (outcome !== 'retry') {
        logger.debug({ message: inbound.messageId, outcome }, 'whatsapp message');
        if (outcome === 'enqueued' && inbound.address) {
          owe(inbound.address);
          lastActivity = Date.now();
        }
        if (config.read_receipts && outcome !== 'ignored' && outcome !== 'denied') {
          await sock.readMessages([msg.key]).catch((err: Error) => logger.debug({ err: err.message }, 'read receipt failed'));
        }
        return;
      }
      if (stopping.signal.aborted) {
        logger.error({ message: inbound.messageId }, 'WhatsApp message not accepted before stop (the queue was unavailable)');
        return;
      }
      logger.warn({ message: inbound.messageId, retryInMs: wait }, 'the queue did not take a WhatsApp message; retrying');
      await sleep(wait, stopping.signal);
      wait = Math.min(wait * 2, INGEST_RETRY_MS.max);
    }
  }

  /** Upserts of one chat are handled in order; chats run side by side. */
  function onMessage(sock: WhatsAppSocket, msg: WAMessage, resolver: IdentityResolver, self: { pn?: string; lid?: string }): void {
    const chat = msg.key.remoteJid ?? '';
    if (!receiving) return;
    if (msg.messageStubType === STUB_CIPHERTEXT) {
      decryptLog.report(chat, String(msg.messageStubParameters?.[0] ?? 'decrypt failure'));
      return;
    }
    const prev = chatQueues.get(chat) ?? Promise.resolve();
    const next = prev.then(async () => {
      const inbound = await normalizeMessage(msg, { botId: config.id, self, canonical: (jid, alt) => resolver.canonical(jid, alt), ...(allowedGroups ? { allowedGroups } : {}) });
      if (inbound) await ingest(sock, msg, inbound);
    });
    const tail = next.catch((err: Error) => logger.error({ chat, err: err.message }, 'WhatsApp message not handled'));
    chatQueues.set(chat, tail);
    void tail.then(() => {
      if (chatQueues.get(chat) === tail) chatQueues.delete(chat);
    });
  }

  /** One socket's life: resolves how it ended, rejects with what `holdConnection` should do next. */
  async function runSocket(auth: WhatsAppAuthState, signal: AbortSignal): Promise<SocketEnd> {
    const sock = await factory({
      auth: auth.state,
      wsUrl: config.ws_url,
      logger,
      decryptLog,
      getMessage: async (key: WAMessageKey) => (key.id ? recentSent.get(key.id) : undefined),
    });
    const resolver = new IdentityResolver(auth.state.keys);
    let stopDelivery: (() => void) | undefined;
    return new Promise<SocketEnd>((resolve, reject) => {
      const abort = () => void Promise.resolve(sock.end(undefined)).catch(() => undefined);
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
      sock.ev.on('creds.update', () => {
        auth.saveCreds().catch((err: Error) => logger.error({ err: err.message, store: describeStore(store) }, 'WhatsApp credentials could not be saved'));
      });
      sock.ev.on('messages.upsert', ({ messages, type }) => {
        if (type !== 'notify') return;
        const me = auth.state.creds.me;
        const self = { ...(me?.id ? { pn: me.id } : {}), ...(me?.lid ? { lid: me.lid } : {}) };
        for (const m of messages) onMessage(sock, m, resolver, self);
      });
      sock.ev.on('connection.update', (update) => {
        if (update.connection === 'open') {
          running?.();
          current = sock;
          account = displayPhone(auth.state.creds.me?.id ?? sock.user?.id);
          stopDelivery ??= host.deliver();
          logger.info({ bot: config.id, account, ws: new URL(config.ws_url).origin }, 'whatsapp connected');
          return;
        }
        if (update.connection !== 'close') return;
        running?.();
        if (current === sock) current = undefined;
        stopDelivery?.();
        stopDelivery = undefined;
        signal.removeEventListener('abort', abort);
        const code = statusCodeOf(update.lastDisconnect?.error);
        if (signal.aborted) return resolve('stopped');
        void onClose(code, auth, signal).then(resolve, reject);
      });
    });
  }

  async function onClose(code: number | undefined, auth: WhatsAppAuthState, signal: AbortSignal): Promise<SocketEnd> {
    const decision = decideDisconnect(code);
    switch (decision) {
      case 'restart':
        logger.info({ code }, 'WhatsApp asked for a restart (515); saving credentials and reconnecting');
        await auth.flush();
        return 'restart';
      case 'replaced':
        // A lease lost at this moment explains the 440 (the new leader connected): stand by.
        await sleep(replacedGraceMs, signal);
        if (signal.aborted) return 'stopped';
        throw new AdapterFatalError('WHATSAPP_CONNECTION_REPLACED', `WhatsApp bot "${config.id}": another process or device opened this account's connection (440 connection replaced), so this process stopped its socket; run the bot in one place only (or give every process the same Redis so they share one leadership lease)`);
      case 'logged_out':
        await auth.flush().catch(() => undefined);
        await store.clear();
        throw new AdapterFatalError('WHATSAPP_LOGGED_OUT', `WhatsApp bot "${config.id}" was logged out (the device was unlinked on the phone, 401); its auth state (${describeStore(store)}) was wiped: run \`npx bot whatsapp login --bot ${config.id}\` to link it again`);
      case 'fatal':
        throw new AdapterFatalError('WHATSAPP_REFUSED', `WhatsApp refused bot "${config.id}" (status ${code}: ${code === 403 ? 'the account is banned or restricted' : 'multi-device mismatch'}); check the phone, then link again with \`npx bot whatsapp login\``);
      default:
        throw new BotHostError('WHATSAPP_DISCONNECTED', `WhatsApp connection closed (status ${code ?? 'unknown'})`);
    }
  }

  async function connect(signal: AbortSignal): Promise<void> {
    connecting = true;
    for (;;) {
      const auth = await openAuthState(store, logger);
      if (!auth.linked) throw new AdapterFatalError('WHATSAPP_NOT_LINKED', `WhatsApp bot "${config.id}" is ${notLinkedHint(config.id)}`);
      const end = await runSocket(auth, signal);
      await auth.flush().catch((err: Error) => logger.error({ err: err.message }, 'WhatsApp auth state write failed'));
      if (end !== 'restart' || signal.aborted) return;
    }
  }

  return {
    platform: 'whatsapp',
    botId: config.id,
    get account() {
      return account;
    },
    outbound,
    start(signal?: AbortSignal) {
      if (stopped) return Promise.reject(new BotHostError('ADAPTER_STOPPED', `whatsapp bot "${config.id}" was stopped`));
      signal?.addEventListener('abort', () => stopping.abort(), { once: true });
      started ??= (async () => {
        if (!(await isLinked(store))) {
          throw new AdapterFatalError('WHATSAPP_NOT_LINKED', `WhatsApp bot "${config.id}" is ${notLinkedHint(config.id)}`);
        }
        let fatal: ((err: Error) => void) | undefined;
        const settled = new Promise<void>((resolve, reject) => {
          running = resolve;
          fatal = reject;
        });
        held = host.holdConnection(connect, stopping.signal).catch((err: Error) => {
          logger.error({ bot: config.id, err: err.message }, 'whatsapp bot stopped');
          fatal?.(err);
          host.onFatal?.(err);
        });
        // Waiting for another process's lease: running, without a socket of its own yet.
        const leaseWait = setTimeout(() => !connecting && running?.(), WHATSAPP_DEFAULTS.startWaitMs);
        void held.then(() => running?.());
        try {
          await settled;
        } finally {
          clearTimeout(leaseWait);
          running = undefined;
          fatal = undefined;
        }
      })();
      return started;
    },
    stop() {
      stopped ??= (async () => {
        // Stop receiving, let this process's replies in flight go out (bounded), then close.
        receiving = false;
        await Promise.allSettled([...chatQueues.values()]);
        // The host renews "typing…" for a turn in flight every typing interval and sends its reply
        // here: an owed reply with no such activity for longer than that is not coming from here.
        const grace = Date.now() + (options.stopGraceMs ?? config.stop_grace_ms);
        const quietMs = config.typing_interval_ms + 2_000;
        while (owed.size > 0 && current && Date.now() < grace && Date.now() - lastActivity < quietMs) await new Promise((r) => setTimeout(r, 50));
        if (owed.size > 0) logger.warn({ replies: owed.size }, 'stopped with WhatsApp replies still owed here; in distributed mode they are sent from the outbox once the bot runs again');
        stopping.abort();
        await started?.catch(() => undefined);
        await held;
        await Promise.allSettled([...chatQueues.values()]);
      })();
      return stopped;
    },
  };
}
