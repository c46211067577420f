/**
 * Telegram's basic reply calls for the host's streaming delivery: send, edit, remove, typing
 * and render, on the reply address `normalize` encoded. The first chunk of a reply in a group quotes
 * the question.
 */
import type { AdapterLogger, Outbound, OutboundChunk } from '../../src/core/adapter.js';
import { decodeAddress } from './address.js';
import { renderReply } from './render.js';
import { editChunk, sendChunk, type SendApi } from './send.js';

export interface TelegramOutboundOptions {
  api: SendApi;
  logger: AdapterLogger;
  parseMode: 'html' | 'plain';
}

const idOf = (n: number | undefined) => (n === undefined ? undefined : String(n));

export function telegramOutbound({ api, logger, parseMode }: TelegramOutboundOptions): Outbound {
  return {
    async send(address, chunk, { index }) {
      return idOf(await sendChunk(api, decodeAddress(address), chunk, logger, index === 0));
    },
    async edit(address, messageId, chunk) {
      return idOf(await editChunk(api, decodeAddress(address), Number(messageId), chunk, logger));
    },
    async remove(address, messageId) {
      // A preview another process's final made redundant; one already gone is fine.
      await api.deleteMessage(decodeAddress(address).chatId, Number(messageId)).catch((err: unknown) => logger.debug({ err: (err as Error).message }, 'could not delete a redundant preview'));
    },
    async typing(address) {
      const target = decodeAddress(address);
      await api.sendChatAction(target.chatId, 'typing', target.threadId !== undefined ? { message_thread_id: target.threadId } : {});
    },
    render(text, mode): OutboundChunk[] {
      return renderReply(text, { mode: mode === 'plain' ? 'plain' : parseMode }).map((c) => ({ text: c.text, plain: c.plain, formatted: c.parseMode === 'HTML' }));
    },
  };
}
