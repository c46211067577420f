/**
 * One agent turn: load history → call the model (streaming) → commit user + assistant entries
 * in one atomic, idempotent, fenced commit. The runner holds no lock across the model call;
 * correctness comes from the commit (docs/architecture.md, "Lease, fence, atomic commit").
 *
 * `runTurn` is the whole turn. A caller that sends its own commands with the commit (the turn
 * worker's inbox pop, in the same socket write) runs the two halves itself: `prepareTurn`
 * (history → model, returning the commit ready to send) and `sendCommit`.
 */
import { LeaseLostError } from '../core/errors.js';
import type { InboundMessage } from '../core/inbound.js';
import type { ChatMessage, CommitResult, SessionLog, SessionStore, TurnCommit } from '../core/session-store.js';
import { isStopRequested, type TurnRequest, type TurnResult } from '../core/turn-queue.js';
import type { AgentResolver, ModelObserver } from './agent.js';

/** What a reply stopped before its first word is committed as. */
export const STOPPED_EMPTY_REPLY = '(stopped before the reply began)';

export interface TurnDeps {
  /** Commits, dedupe and stored replies: the session's own log. */
  store: SessionLog;
  agents: AgentResolver;
  /**
   * Where the history the model sees is read, when not `store`: a HierarchicalSessionStore
   * over it, so a forked or reverted session's turns see its stitched history.
   */
  history?: Pick<SessionStore, 'getChatHistory'>;
}

export interface TurnOptions {
  /** Called with the reply so far while the model streams. */
  onPartial?: (textSoFar: string) => void;
  signal?: AbortSignal;
  /** The lease fencing token when a lease guards this session (distributed mode). */
  fence?: number;
  /**
   * What the turn would read first, already read by the caller in an earlier round trip under
   * the same lease (the worker's claim and pop scripts): whether the inbound id is committed
   * (its first cursor, or null) and at least the agent's `maxHistory` newest messages.
   */
  prefetched?: { committed: number | null; history: ChatMessage[] };
}

/** A turn whose reply is written and whose commit is built but not sent (see prepareTurn). */
export interface PreparedTurn {
  request: TurnRequest;
  /** The reply as it will be committed (a stopped or empty reply already worded). */
  reply: string;
  stopped: boolean;
  /** The user and assistant entries, keyed by the inbound id and fenced as the options said. */
  commit: TurnCommit;
  /** Told the commit's round trip. */
  observer: ModelObserver | undefined;
}

/** prepareTurn's answer: a commit to send, or the stored result of a turn committed before. */
export type TurnPreparation = { prepared: PreparedTurn } | { stored: TurnResult };

/** The text the agent sees for an inbound message, attachments noted in words. */
export function inboundText(inbound: InboundMessage): string {
  const notes = (inbound.attachments ?? []).map((a) => {
    const what = [a.kind, a.name && `"${a.name}"`, a.mimeType && `(${a.mimeType})`].filter(Boolean).join(' ');
    return `[attached ${what}${a.caption ? `: ${a.caption}` : ''}]`;
  });
  return [inbound.text, ...notes].filter((s) => s && s.length > 0).join('\n');
}

/** The whole turn: history → model → commit. */
export async function runTurn(deps: TurnDeps, request: TurnRequest, options: TurnOptions = {}): Promise<TurnResult> {
  const ready = await prepareTurn(deps, request, options);
  return 'stored' in ready ? ready.stored : sendCommit(deps.store, ready.prepared);
}

/**
 * History → model, up to the commit: returns the commit ready to send, or — when the inbound id
 * was committed before (a retried or redelivered turn) — the stored reply, with no model call.
 */
export async function prepareTurn(deps: TurnDeps, request: TurnRequest, options: TurnOptions = {}): Promise<TurnPreparation> {
  const { store } = deps;
  const agent = deps.agents(request.agent);
  const { inbound, sessionId } = request;
  const text = inboundText(inbound);
  const inboundId = `${inbound.botId}:${inbound.messageId}`;

  // Both reads in one round trip.
  // A prefetched history is the session's own log; a session with a hierarchy view (a fork or
  // a revert) must be read through the hierarchy, so the worker only prefetches plain sessions.
  const [committed, history] = options.prefetched
    ? [options.prefetched.committed, options.prefetched.history.slice(-agent.maxHistory)]
    : await Promise.all([store.findCommitted(sessionId, inboundId), (deps.history ?? store).getChatHistory(sessionId, agent.maxHistory)]);
  if (committed !== null) return { stored: await storedResult(store, request, committed, '') };

  let reply = '';
  const { observer } = agent;
  const modelStart = observer ? Date.now() : 0;
  try {
    for await (const delta of agent.model.stream({
      system: agent.instructions,
      messages: [...history, { role: 'user', content: text }],
      ...(options.signal ? { signal: options.signal } : {}),
      ...(observer ? { onUsage: observer.usage } : {}),
    })) {
      reply += delta;
      options.onPartial?.(reply);
      if (isStopRequested(options.signal)) break;
    }
  } catch (error) {
    // Stopped by the user: not a failure. The turn commits what was written so far, marked
    // stopped, so the log, every client's view and the model's next history agree.
    if (!isStopRequested(options.signal)) throw error;
  } finally {
    observer?.modelCall(Date.now() - modelStart);
  }
  const stopped = isStopRequested(options.signal);
  if (stopped && reply.trim() === '') reply = STOPPED_EMPTY_REPLY;
  else if (reply.trim() === '') reply = '(the model returned an empty reply)';

  const commit: TurnCommit = {
    inboundId,
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
      { role: 'assistant', content: reply, metadata: { agent: agent.id, ...(stopped ? { stopped: true } : {}) } },
    ],
  };
  return { prepared: { request, reply, stopped, commit, observer } };
}

/**
 * Send a prepared turn's commit and read its answer. The commit is issued before this returns,
 * so commands the caller issues right after it go out in the same write, behind it.
 * A stale fence throws LeaseLostError; a commit of the same inbound id by a concurrent attempt
 * meanwhile returns that attempt's stored reply (`duplicate`), never a second one.
 */
export function sendCommit(store: SessionLog, turn: PreparedTurn): Promise<TurnResult> {
  return settleCommit(store, turn, store.commitTurn(turn.request.sessionId, turn.commit));
}

async function settleCommit(store: SessionLog, turn: PreparedTurn, committing: Promise<CommitResult>): Promise<TurnResult> {
  const { request, reply, stopped, observer } = turn;
  const commitStart = observer ? Date.now() : 0;
  const result = await committing;
  observer?.commit(Date.now() - commitStart);
  if (result.status === 'committed') {
    return { request, reply, cursor: result.cursors[1]!, duplicate: false, committedAt: performance.timeOrigin + performance.now(), ...(stopped ? { stopped } : {}) };
  }
  if (result.status === 'stale_fence') throw LeaseLostError.fenced(request.sessionId, turn.commit.fence ?? -1, result.highestFence);
  return storedResult(store, request, result.cursor, reply);
}

/** The reply stored for the commit whose user entry is at `userCursor`. */
async function storedResult(store: SessionLog, request: TurnRequest, userCursor: number, fallback: string): Promise<TurnResult> {
  const [next] = await store.getEntries(request.sessionId, { after: userCursor, limit: 1 });
  // Only the entry right after the user's is its reply (it may have been trimmed or cleared).
  const assistant = next?.cursor === userCursor + 1 && next.role === 'assistant' ? next : undefined;
  return {
    request,
    reply: assistant?.content ?? fallback,
    cursor: assistant?.cursor ?? userCursor,
    duplicate: true,
  };
}
