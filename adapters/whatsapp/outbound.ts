/**
 * The WhatsApp `Outbound`: final text only (no edits on WhatsApp — the host then sends the final
 * reply), `composing` while the agent works and `paused` after, sends paced per chat, and in
 * groups the first chunk of a reply quotes the message it answers.
 *
 * Sends go through whatever socket is open in this process (the leader's); with none open a send
 * throws a retryable error, so the reply waits in the queue/outbox instead of being lost. Each
 * chunk's WhatsApp message id is derived from the host's idempotency key, so a retried send
 * that had in fact gone out carries the same id (the recipient's phone shows it once).
 */
import { createHash } from 'node:crypto';
import type { WAMessage } from 'baileys';
import type { AdapterLogger, Outbound, OutboundChunk, SendOptions } from '../../src/core/adapter.js';
import { BotHostError } from '../../src/core/errors.js';
import { decodeAddress } from './address.js';
import { decideSendError, statusCodeOf } from './api-errors.js';
import { isGroup } from './jid.js';
import type { ChatPacer } from './pacer.js';
import { renderWhatsApp } from './render.js';
import type { WhatsAppSocket } from './socket.js';

/** A WhatsApp-shaped message id (`3EB0` + 18 hex digits, as WhatsApp Web makes them) from a key. */
export function messageIdFor(idempotencyKey: string): string {
  return `3EB0${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 18).toUpperCase()}`;
}

export interface OutboundDeps {
  /** The open socket, if this process holds one. */
  socket(): WhatsAppSocket | undefined;
  pacer: ChatPacer;
  logger: AdapterLogger;
  maxMessageLength: number;
  /** Told about each message sent (kept for WhatsApp's retry requests). */
  sent?(message: WAMessage): void;
}

export function createWhatsAppOutbound(deps: OutboundDeps): Outbound {
  const socketOrThrow = (): WhatsAppSocket => {
    const sock = deps.socket();
    if (!sock) throw new BotHostError('WHATSAPP_NOT_CONNECTED', 'the WhatsApp socket is not open in this process (reconnecting, or another process holds it); the reply will be retried');
    return sock;
  };
  return {
    async send(address: string, chunk: OutboundChunk, options: SendOptions): Promise<string | undefined> {
      const { chat, quote } = decodeAddress(address);
      const sock = socketOrThrow();
      await deps.pacer.wait(chat);
      const quoted: WAMessage | undefined =
        quote && options.index === 0 && isGroup(chat) ? { key: { remoteJid: chat, id: quote.id, participant: quote.participant, fromMe: false }, message: { conversation: quote.text } } : undefined;
      try {
        const sent = await sock.sendMessage(chat, { text: chunk.text }, { messageId: messageIdFor(options.idempotencyKey), ...(quoted ? { quoted } : {}) });
        if (sent) deps.sent?.(sent);
        return sent?.key.id ?? messageIdFor(options.idempotencyKey);
      } catch (err) {
        if (decideSendError(err) === 'drop') {
          deps.logger.warn({ chat, status: statusCodeOf(err), err: (err as Error).message }, 'WhatsApp refused the message for good; this reply chunk is dropped');
          return undefined;
        }
        throw new BotHostError('WHATSAPP_SEND_FAILED', `sending to ${chat} failed (${(err as Error).message}); it will be retried`, { cause: err });
      }
    },
    async typing(address: string): Promise<void> {
      const sock = deps.socket();
      if (!sock) return;
      await sock.sendPresenceUpdate('composing', decodeAddress(address).chat);
    },
    async idle(address: string): Promise<void> {
      const sock = deps.socket();
      if (!sock) return;
      await sock.sendPresenceUpdate('paused', decodeAddress(address).chat);
    },
    render: (text, mode) => renderWhatsApp(text, mode, deps.maxMessageLength),
  };
}
