/**
 * One agent turn: load history → call the model (streaming) → commit user + assistant entries
 * in one atomic, idempotent, fenced commit. The runner holds no lock across the model call;
 * correctness comes from the commit (DESIGN.md §3).
 */
import { BotHostError } from '../core/errors.js';
import type { InboundMessage } from '../core/inbound.js';
import type { SessionLog } from '../core/session-store.js';
import type { TurnRequest, TurnResult } from '../core/turn-queue.js';
import type { AgentResolver } from './agent.js';

/** The commit was rejected because a newer lease holder exists: send nothing. */
export class LeaseLostError extends BotHostError {
  constructor(sessionId: string, fence: number, highestFence: number) {
    super('LEASE_LOST', `lease on ${sessionId} was lost (fence ${fence} < ${highestFence}); the turn is discarded`);
  }
}

export interface TurnDeps {
  store: SessionLog;
  agents: AgentResolver;
}

export interface TurnOptions {
  /** Called with the reply so far while the model streams. */
  onPartial?: (textSoFar: string) => void;
  signal?: AbortSignal;
  /** The lease fencing token when a lease guards this session (distributed mode). */
  fence?: number;
}

/** The text the agent sees for an inbound message, attachments noted in words. */
export function inboundText(inbound: InboundMessage): string {
  const notes = (inbound.attachments ?? []).map((a) => {
    const what = [a.kind, a.name && `"${a.name}"`, a.mimeType && `(${a.mimeType})`].filter(Boolean).join(' ');
    return `[attached ${what}${a.caption ? `: ${a.caption}` : ''}]`;
  });
  return [inbound.text, ...notes].filter((s) => s && s.length > 0).join('\n');
}

export async function runTurn(deps: TurnDeps, request: TurnRequest, options: TurnOptions = {}): Promise<TurnResult> {
  const { store } = deps;
  const agent = deps.agents(request.agent);
  const { inbound, sessionId } = request;
  const text = inboundText(inbound);

  const history = await store.getChatHistory(sessionId, agent.maxHistory);
  let reply = '';
  for await (const delta of agent.model.stream({
    system: agent.instructions,
    messages: [...history, { role: 'user', content: text }],
    ...(options.signal ? { signal: options.signal } : {}),
  })) {
    reply += delta;
    options.onPartial?.(reply);
  }
  if (reply.trim() === '') reply = '(the model returned an empty reply)';

  const result = await store.commitTurn(sessionId, {
    inboundId: `${inbound.botId}:${inbound.messageId}`,
    ...(options.fence !== undefined ? { fence: options.fence } : {}),
    entries: [
      {
        role: 'user',
        content: text,
        metadata: {
          platform: inbound.platform,
          bot_id: inbound.botId,
          message_id: inbound.messageId,
          user_id: inbound.userId,
          chat_id: inbound.chatId,
          ...(inbound.userName ? { user_name: inbound.userName } : {}),
        },
      },
      { role: 'assistant', content: reply, metadata: { agent: agent.id } },
    ],
  });
  if (result.status === 'committed') {
    return { request, reply, cursor: result.cursors[1]!, duplicate: false };
  }
  if (result.status === 'stale_fence') throw new LeaseLostError(sessionId, options.fence ?? -1, result.highestFence);
  // Already committed by an earlier attempt: hand back what was stored, never a second reply.
  const stored = await store.getEntries(sessionId, { after: result.cursor, limit: 1 });
  const assistant = stored[0];
  return {
    request,
    reply: assistant?.role === 'assistant' ? assistant.content : reply,
    cursor: assistant?.cursor ?? result.cursor,
    duplicate: true,
  };
}
