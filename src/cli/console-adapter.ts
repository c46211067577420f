/**
 * The terminal as a chat platform: the first adapter on the ingress pipeline. Each line typed
 * becomes an inbound message; replies come back through the same delivery path every platform
 * uses, so the terminal chat exercises exactly what Telegram or the gateway will.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { InboundMessage } from '../core/inbound.js';
import { sessionKey } from '../core/session-key.js';
import type { TurnResult } from '../core/turn-queue.js';
import type { Host } from '../host/host.js';
import type { BotPolicy } from '../ingress/index.js';
import { operatorCause } from '../queue/retry.js';

export const CONSOLE_BOT_ID = 'console';

/**
 * The console user is the operator: a turn the model failed shows the model's own error (which
 * names the endpoint and what to set, never a secret) instead of the apology platform users get.
 * A worker's failure read back from the outbox carries the same text (`cause`).
 */
export function operatorText(politeMessage: string, error: unknown): string {
  const cause = operatorCause(error);
  return cause === undefined ? politeMessage : `model error: ${cause}`;
}

/** A console user who names no session gets this one, stable across runs. */
export function defaultConsoleSession(): string {
  return sessionKey('console', consoleUser());
}

function consoleUser(): string {
  try {
    return os.userInfo().username || 'user';
  } catch {
    return 'user';
  }
}

export type ConsoleAnswer =
  /** `notice`: what the host told the user before the turn (e.g. a session reset). */
  | { kind: 'reply'; text: string; cursor: number; duplicate: boolean; notice?: string }
  | { kind: 'command'; text: string }
  | { kind: 'failed'; text: string };

export interface ConsoleChat {
  readonly sessionId: string;
  /** Send one line; resolves with the answer. `onPartial` sees the reply grow while it streams. */
  send(text: string, onPartial?: (textSoFar: string) => void): Promise<ConsoleAnswer>;
  close(): void;
}

/**
 * The console is not an adapter on the kit: it is one local operator talking to one explicit
 * session, answered in the terminal (with the real cause of a failure, since the user is the
 * operator), so it has a fixed policy and a delivery of its own; it shares the ingress chain and queue.
 */
export function openConsoleChat(host: Host, options: { sessionId: string; agent: string }): ConsoleChat {
  const bot: BotPolicy = {
    id: CONSOLE_BOT_ID,
    platform: 'console',
    agent: options.agent,
    allowedUsers: [],
    unknownUserPolicy: 'allow',
    groupPolicy: 'respond_all',
    scope: 'per_user',
  };
  const waiting = new Map<string, { resolve: (a: ConsoleAnswer) => void; onPartial?: (t: string) => void }>();
  const unregister = host.delivery.register(CONSOLE_BOT_ID, {
    partial: (req, text) => waiting.get(req.inbound.messageId)?.onPartial?.(text),
    final: (result: TurnResult) => {
      const w = waiting.get(result.request.inbound.messageId);
      waiting.delete(result.request.inbound.messageId);
      w?.resolve({ kind: 'reply', text: result.reply, cursor: result.cursor, duplicate: result.duplicate });
    },
    failed: (req, message, error) => {
      const w = waiting.get(req.inbound.messageId);
      waiting.delete(req.inbound.messageId);
      w?.resolve({ kind: 'failed', text: operatorText(message, error) });
    },
    // Each `bot chat` process waits for its own replies: every process must see every result.
  }, { broadcast: true });
  const user = consoleUser();

  return {
    sessionId: options.sessionId,
    async send(text, onPartial) {
      const message: InboundMessage = {
        platform: 'console',
        botId: CONSOLE_BOT_ID,
        chatId: user,
        userId: user,
        userName: user,
        messageId: randomUUID(),
        text,
        isDirect: true,
        mentionsBot: true,
        receivedAt: Date.now(),
        sessionId: options.sessionId,
      };
      let direct: string | undefined;
      const answer = new Promise<ConsoleAnswer>((resolve) => waiting.set(message.messageId, { resolve, ...(onPartial ? { onPartial } : {}) }));
      // Distributed mode: be reading the outbox before the turn can finish.
      await host.delivery.ready();
      const outcome = await host.ingest(bot, message, async (t) => void (direct = direct ? `${direct}\n${t}` : t));
      if (outcome === 'enqueued') return direct === undefined ? answer : answer.then((a) => (a.kind === 'reply' ? { ...a, notice: direct! } : a));
      waiting.delete(message.messageId);
      return { kind: 'command', text: direct ?? '' };
    },
    close: unregister,
  };
}
