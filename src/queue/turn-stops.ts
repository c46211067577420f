/**
 * Stopping a running turn in distributed mode: the ingress that hears the user's Stop publishes
 * `{sessionId, messageId}` on `<prefix>:turn-stop`; every worker listens, and the one running
 * that session's turn (it holds the session's lease) aborts it with a `TurnStopRequest`, so the
 * turn commits what the model wrote so far, marked stopped. Best effort like any pub/sub: a
 * worker that is not subscribed at that moment lets the turn finish.
 */
import type { Redis } from 'ioredis';

export interface TurnStop {
  sessionId: string;
  /** The inbound message id of the turn to stop; absent: whatever turn the session runs. */
  messageId?: string;
}

export const turnStopChannel = (prefix: string) => `${prefix}:turn-stop`;

/** Publish a stop; resolves with how many workers heard it. */
export function publishTurnStop(client: Redis, prefix: string, stop: TurnStop): Promise<number> {
  return client.publish(turnStopChannel(prefix), JSON.stringify(stop));
}

/** Listen for stops on a connection of its own (subscribed connections can do nothing else). */
export async function subscribeTurnStops(subscriber: Redis, prefix: string, onStop: (stop: TurnStop) => void): Promise<() => Promise<void>> {
  const channel = turnStopChannel(prefix);
  const onMessage = (ch: string, raw: string) => {
    if (ch !== channel) return;
    try {
      const m = JSON.parse(raw) as Partial<TurnStop>;
      if (typeof m.sessionId === 'string') onStop({ sessionId: m.sessionId, ...(typeof m.messageId === 'string' ? { messageId: m.messageId } : {}) });
    } catch {
      // Not a stop: ignore.
    }
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', onMessage);
    await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
