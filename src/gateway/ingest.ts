/**
 * A web chat message into the host's ingress pipeline (the same chain and turn queue as every
 * platform). The gateway is not an adapter on the kit on purpose: its clients choose their session
 * id, are authenticated and owned by identity, and receive every session event with a cursor and
 * replay (its own protocol) instead of one streamed reply to a platform address — so it keeps its
 * own fixed policy and delivery, and shares the ingress chain and queue.
 */
import type { InboundMessage } from '../core/inbound.js';
import type { Host } from '../host/host.js';
import type { BotPolicy, IngressOutcome } from '../ingress/index.js';
import { GATEWAY_BOT_ID, WEB_PLATFORM } from './constants.js';
import { inboundMessageId } from './events.js';

export interface WebMessage {
  /** Store key (`bot_web_…`) and the client's session id. */
  key: string;
  sessionId: string;
  identity: string;
  agent: string;
  clientId: string;
  content: string;
}

export async function ingestWebMessage(host: Pick<Host, 'ingest'>, m: WebMessage): Promise<{ outcome: IngressOutcome | undefined; replies: string[] }> {
  const bot: BotPolicy = {
    id: GATEWAY_BOT_ID,
    platform: WEB_PLATFORM,
    agent: m.agent,
    allowedUsers: [],
    unknownUserPolicy: 'allow',
    groupPolicy: 'respond_all',
    scope: 'per_user',
  };
  const inbound: InboundMessage = {
    platform: WEB_PLATFORM,
    botId: GATEWAY_BOT_ID,
    chatId: m.sessionId,
    userId: m.identity,
    userName: m.identity,
    messageId: inboundMessageId(m.key, m.clientId),
    text: m.content,
    isDirect: true,
    mentionsBot: true,
    receivedAt: Date.now(),
    // The client's session, already namespaced: it wins over the scope-derived key.
    sessionId: m.key,
  };
  const replies: string[] = [];
  const outcome = await host.ingest(bot, inbound, async (text) => void replies.push(text));
  return { outcome, replies };
}
