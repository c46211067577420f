/**
 * Hands one Slack delivery (an Events API body or a slash command) to bolt's `App.processEvent`
 * and says when and how to acknowledge it — the part bolt's stock receivers get wrong for us:
 * they acknowledge an event before its listeners ran (Socket Mode) or cannot turn "the queue
 * refused it" into a redelivery. Here:
 *
 * - events are acknowledged only after the listener reported the ingest outcome; `retry` (or a
 *   listener that threw) is not acknowledged, so Slack delivers the event again;
 * - slash commands are acknowledged as soon as their listener calls `ack()` (Slack wants an
 *   answer within 3 s and never redelivers a command); their answer goes to `response_url`.
 *
 * The listener finds its `IngressSlot` in bolt's context (`context.bothost`) and fills `outcome`.
 */
import type { IngestOutcome } from '../../src/core/adapter.js';

export interface IngressSlot {
  outcome?: IngestOutcome;
  failed?: boolean;
}

/** What bolt's `App.processEvent` takes (its `ReceiverEvent`). */
export interface ReceiverEventLike {
  body: Record<string, unknown>;
  ack: (response?: unknown) => Promise<void>;
  retryNum?: number;
  retryReason?: string;
  customProperties?: Record<string, unknown>;
}

export interface EventProcessor {
  processEvent(event: ReceiverEventLike): Promise<void>;
}

export type Acknowledgement =
  /** Acknowledge (HTTP 200 / envelope ack), with an optional response body. */
  | { ack: true; response?: unknown }
  /** Do not acknowledge: Slack redelivers (HTTP 5xx / no envelope ack). */
  | { ack: false };

export function isCommandBody(body: Record<string, unknown>): boolean {
  return typeof body.command === 'string';
}

/**
 * Runs the delivery through bolt. `early` is called when a command must be acknowledged before
 * its listener finished (the returned promise still resolves when everything is done).
 */
export async function dispatchToBolt(
  app: EventProcessor,
  delivery: { body: Record<string, unknown>; retryNum?: number; retryReason?: string },
  early?: (a: Acknowledgement) => void,
): Promise<Acknowledgement> {
  const slot: IngressSlot = {};
  const command = isCommandBody(delivery.body);
  let acked: Acknowledgement | undefined;
  const ack = async (response?: unknown) => {
    acked ??= { ack: true, ...(response !== undefined && response !== '' ? { response } : {}) };
    if (command) early?.(acked);
  };
  try {
    await app.processEvent({
      body: delivery.body,
      ack,
      ...(delivery.retryNum !== undefined ? { retryNum: delivery.retryNum } : {}),
      ...(delivery.retryReason !== undefined ? { retryReason: delivery.retryReason } : {}),
      customProperties: { bothost: slot },
    });
  } catch {
    slot.failed = true;
  }
  if (command) return acked ?? { ack: true };
  if (slot.failed || slot.outcome === 'retry') return { ack: false };
  return { ack: true };
}
