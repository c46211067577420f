/**
 * The turn queue seam. Ingress enqueues accepted inbound messages; something runs each session's
 * turns one at a time, in arrival order, and hands results to delivery. The inline queue
 * (embedded mode) and the BullMQ queue (distributed mode) both implement `TurnQueue`.
 */
import type { OutboundChunk } from './adapter.js';
import type { InboundMessage } from './inbound.js';

export interface TurnRequest {
  sessionId: string;
  /** Agent name in bots.yaml `agents`. */
  agent: string;
  inbound: InboundMessage;
}

export interface TurnResult {
  request: TurnRequest;
  reply: string;
  /** Cursor of the committed assistant entry. */
  cursor: number;
  /** True when the inbound id had been committed before: the reply is the stored one. */
  duplicate: boolean;
  /** When the turn was committed (ms since the epoch, sub-ms precision), for latency metrics. */
  committedAt?: number;
}

/** Where replies go. Streaming is optional: a platform without edits ignores `partial`. */
export interface Delivery {
  /** The turn started running (typing indicators). */
  started?(request: TurnRequest): void;
  /** The reply so far; called with growing text while the model streams. */
  partial?(request: TurnRequest, textSoFar: string): void;
  /** The committed reply. */
  final(result: TurnResult): void | Promise<void>;
  /** The turn failed for good; `message` is safe to show to the user. */
  failed(request: TurnRequest, message: string, error: unknown): void | Promise<void>;
  /**
   * Distributed mode: another process delivered this reply (final or failure notice). A process
   * that streamed a preview of it stops, and tidies the preview away if it is not `first`.
   */
  deliveredElsewhere?(request: TurnRequest, first: DeliveredFirst): void;
}

/** The first message of a delivered reply: its platform id and what it shows. */
export interface DeliveredFirst {
  messageId?: string;
  chunk: OutboundChunk;
}

export interface TurnQueue {
  /** Resolves once the turn is durably accepted (not once it has run). */
  enqueue(request: TurnRequest): Promise<void>;
  /** Stop accepting; wait for turns in flight to finish. Safe to call twice. */
  close(): Promise<void>;
  /** How many worker processes take this queue's turns now. Absent: turns run in this process. */
  workerCount?(): Promise<number>;
}

export interface RouteOptions {
  /**
   * Every process that registers this bot gets every result (default false: exactly one
   * process delivers each result). For routes whose delivery is a local notice, e.g. a web
   * gateway pushing session events to its own clients, or `bot chat` waiting for its reply.
   * All processes registering one bot id must agree on this.
   */
  broadcast?: boolean;
}

/** Carries results of registered bots to this process (distributed mode). */
export interface RouteTransport {
  /** Start carrying `botId`'s results; resolves once nothing produced from now on can be missed. */
  attach(botId: string, options: RouteOptions): Promise<void>;
  detach(botId: string): Promise<void>;
}
