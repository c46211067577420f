/**
 * The reply address of a Slack message (`InboundMessage.address`), opaque to the host: the
 * workspace (edit throttling scope), the channel, the thread a reply goes into, the message
 * the status reaction goes on, and — for slash commands — the `response_url` that answers them.
 * Encoded as compact JSON; decoding validates, so a corrupt address fails loudly.
 */
import { z } from 'zod';

export interface SlackAddress {
  /** Workspace (team) id. */
  team: string;
  channel: string;
  /** Post the reply into this thread (`thread_ts`); absent: top level. */
  threadTs?: string;
  /** The inbound message's `ts` (the :eyes: status reaction goes there). */
  messageTs?: string;
  /** Slash commands: answer through this URL instead of chat.postMessage. */
  responseUrl?: string;
}

const Wire = z.strictObject({
  t: z.string(),
  c: z.string().min(1),
  th: z.string().optional(),
  m: z.string().optional(),
  r: z.url({ protocol: /^https?$/ }).optional(),
});

export function encodeAddress(a: SlackAddress): string {
  return JSON.stringify({
    t: a.team,
    c: a.channel,
    ...(a.threadTs ? { th: a.threadTs } : {}),
    ...(a.messageTs ? { m: a.messageTs } : {}),
    ...(a.responseUrl ? { r: a.responseUrl } : {}),
  });
}

export function decodeAddress(address: string): SlackAddress {
  let raw: unknown;
  try {
    raw = JSON.parse(address);
  } catch {
    throw new Error('not a slack reply address (not JSON)');
  }
  const w = Wire.parse(raw);
  return { team: w.t, channel: w.c, ...(w.th ? { threadTs: w.th } : {}), ...(w.m ? { messageTs: w.m } : {}), ...(w.r ? { responseUrl: w.r } : {}) };
}
