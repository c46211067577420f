/**
 * Discord's basic reply calls for the host's streaming delivery, over discord.js's REST client:
 *
 * - `send`: a message in the address's channel — the first chunk quoting the question in guilds —
 *   with `allowed_mentions: { parse: [] }` (a model can never ping @everyone, roles or users) and
 *   a `nonce` derived from the idempotency key with `enforce_nonce`, so a REST retry of a POST
 *   that had in fact succeeded returns the first message instead of posting twice. For a slash
 *   command the first chunk replaces the deferred response and later ones are follow-ups; once
 *   the interaction token is gone (expired, or held by another process) it posts in the channel.
 * - `edit`: the message in place (through the interaction token for interaction responses).
 * - `typing`: the channel's typing indicator, at most once per interval per channel (a deferred
 *   interaction shows "thinking…" already).
 * - Failures go through `api-errors.ts`: a user who blocked the bot, a channel gone or no access
 *   is logged and the chunk dropped (resolves undefined); a bad token is fatal; the rest throws
 *   so the queue may retry.
 */
import { createHash } from 'node:crypto';
import { AdapterFatalError, type AdapterLogger, type Outbound, type OutboundChunk, type SendOptions } from '../../src/core/adapter.js';
import { decisionOf, describeError } from './api-errors.js';
import { decodeAddress } from './address.js';
import type { InteractionTokens } from './interaction-tokens.js';
import { renderDiscord } from './render.js';

type Route = `/${string}`;

/** The REST calls outbound makes (discord.js's `REST` has them). */
export interface DiscordRest {
  post(route: Route, options?: { body?: unknown; auth?: boolean; query?: URLSearchParams }): Promise<unknown>;
  patch(route: Route, options?: { body?: unknown; auth?: boolean }): Promise<unknown>;
  delete(route: Route, options?: { auth?: boolean }): Promise<unknown>;
}

export interface DiscordOutboundOptions {
  rest: DiscordRest;
  tokens: InteractionTokens;
  logger: AdapterLogger;
  botId: string;
  /**
   * A channel already shown "typing…" within this long is not sent another call (default 0:
   * every call goes out). Typing is per channel on Discord, while the host renews it per reply.
   */
  typingCoalesceMs?: number;
  now?: () => number;
}

/** No @everyone, @here, role or user pings from anything the bot posts. */
export const NO_MENTIONS = Object.freeze({ parse: [] as string[] });

/**
 * A nonce for `key`: ≤ 25 decimal digits (80 bits of SHA-256), the same for every retry. A
 * streamed reply's preview (`…|preview|0`) is posted as the message its first chunk becomes, so
 * both get one nonce: a process that re-sends the reply (a redelivered message after a restart)
 * gets the existing message back instead of posting it again.
 */
export function nonceOf(key: string): string {
  const digest = createHash('sha256').update(key.replace(/\|preview(?=\|0$)/, '')).digest();
  return BigInt(`0x${digest.subarray(0, 10).toString('hex')}`).toString(10);
}

const idOf = (message: unknown) => (message as { id?: unknown })?.id as string | undefined;

/** Channels typing was last sent to (bounded: the oldest go first). */
const TYPING_MEMORY = 10_000;

export function discordOutbound({ rest, tokens, logger, botId, typingCoalesceMs = 0, now = Date.now }: DiscordOutboundOptions): Outbound {
  const lastTyping = new Map<string, number>();
  /** Applies the decision table; resolves undefined when the chunk is dropped for good. */
  function refused(err: unknown, what: string, channelId: string): undefined {
    const decision = decisionOf(err);
    if (decision === 'drop') {
      logger.warn({ channel: channelId, err: describeError(err) }, `discord refused the ${what} for good (blocked by the user, no access or channel gone); dropped`);
      return undefined;
    }
    if (decision === 'fatal') {
      throw new AdapterFatalError('DISCORD_UNAUTHORIZED', `Discord rejected the token of bot "${botId}" (${describeError(err)}); reset it in the developer portal and update DISCORD_BOT_TOKEN`, { cause: err });
    }
    throw err;
  }

  async function postInChannel(channelId: string, chunk: OutboundChunk, key: string, quote?: string): Promise<string | undefined> {
    const body = {
      content: chunk.text,
      allowed_mentions: NO_MENTIONS,
      nonce: nonceOf(key),
      enforce_nonce: true,
      ...(quote ? { message_reference: { message_id: quote, fail_if_not_exists: false } } : {}),
    };
    try {
      const id = idOf(await rest.post(`/channels/${channelId}/messages`, { body }));
      // Discord clears the typing indicator when the bot posts: the next reply may show it again.
      lastTyping.delete(channelId);
      return id;
    } catch (err) {
      return refused(err, 'message', channelId);
    }
  }

  async function send(address: string, chunk: OutboundChunk, { idempotencyKey, index }: SendOptions): Promise<string | undefined> {
    const target = decodeAddress(address);
    if (target.kind === 'message') return postInChannel(target.channelId, chunk, idempotencyKey, index === 0 ? target.quoteMessageId : undefined);
    const held = tokens.get(target.interactionId);
    if (held) {
      const body = { content: chunk.text, allowed_mentions: NO_MENTIONS };
      try {
        if (!held.originalSent) {
          const id = idOf(await rest.patch(`/webhooks/${held.applicationId}/${held.token}/messages/@original`, { body, auth: false }));
          held.originalSent = true;
          return id;
        }
        return idOf(await rest.post(`/webhooks/${held.applicationId}/${held.token}`, { body, auth: false, query: new URLSearchParams({ wait: 'true' }) }));
      } catch (err) {
        if (decisionOf(err) !== 'post_in_channel') return refused(err, 'interaction response', target.channelId);
        tokens.forget(target.interactionId);
        logger.info({ interaction: target.interactionId }, 'the interaction token is no longer valid; posting the reply in the channel');
      }
    }
    return postInChannel(target.channelId, chunk, idempotencyKey);
  }

  return {
    send,
    async edit(address, messageId, chunk) {
      const target = decodeAddress(address);
      const body = { content: chunk.text, allowed_mentions: NO_MENTIONS };
      const held = target.kind === 'interaction' ? tokens.get(target.interactionId) : undefined;
      try {
        if (held) return idOf(await rest.patch(`/webhooks/${held.applicationId}/${held.token}/messages/${messageId}`, { body, auth: false })) ?? messageId;
        return idOf(await rest.patch(`/channels/${target.channelId}/messages/${messageId}`, { body })) ?? messageId;
      } catch (err) {
        const decision = decisionOf(err);
        if (decision === 'send_new' || decision === 'post_in_channel') {
          const key = `edit|${messageId}|${createHash('sha256').update(chunk.text).digest('hex').slice(0, 16)}`;
          return postInChannel(target.channelId, chunk, key);
        }
        return refused(err, 'edit', target.channelId);
      }
    },
    async remove(address, messageId) {
      // A preview another process's final made redundant; one already gone is fine.
      const target = decodeAddress(address);
      const held = target.kind === 'interaction' ? tokens.get(target.interactionId) : undefined;
      const route = held ? `/webhooks/${held.applicationId}/${held.token}/messages/${messageId}` : `/channels/${target.channelId}/messages/${messageId}`;
      await rest.delete(route as `/${string}`, held ? { auth: false } : {}).catch((err: unknown) => logger.debug({ err: describeError(err) }, 'could not delete a redundant preview'));
    },
    async typing(address) {
      const target = decodeAddress(address);
      if (target.kind === 'interaction') return;
      // Many replies in one channel (or a backlog of them) need one typing call per interval,
      // not one each: every call spends the bot's global REST budget the replies need too.
      const at = now();
      if (at - (lastTyping.get(target.channelId) ?? -Infinity) < typingCoalesceMs) return;
      lastTyping.delete(target.channelId);
      lastTyping.set(target.channelId, at);
      if (lastTyping.size > TYPING_MEMORY) lastTyping.delete(lastTyping.keys().next().value!);
      try {
        await rest.post(`/channels/${target.channelId}/typing`);
      } catch (err) {
        logger.debug({ channel: target.channelId, err: describeError(err) }, 'typing indicator failed');
      }
    },
    render: (text, mode) => renderDiscord(text, mode),
  };
}
