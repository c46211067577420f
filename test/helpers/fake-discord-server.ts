/**
 * A fake Discord: REST API v10 over HTTP and the gateway over WebSocket, both on 127.0.0.1, so
 * the real discord.js (inside a spawned `bot discord`) runs unmodified with
 * `rest: { api: <url> }` — it fetches `GET /gateway/bot` and connects to the `ws://` URL given.
 *
 * REST (under `/api/v10`): `GET /gateway/bot`, `GET /users/@me`, `PUT|GET
 * /applications/:app/commands`, `POST /channels/:id/messages` (content ≤ 2000 code points,
 * `nonce` ≤ 25 characters and, with `enforce_nonce`, a repeated nonce returns the first message
 * instead of posting twice), `PATCH /channels/:id/messages/:mid`, `POST /channels/:id/typing`,
 * `POST /interactions/:id/:token/callback` (within 3 s, once), `PATCH|POST
 * /webhooks/:app/:token[/messages/:mid|@original]` (interaction token valid 15 min).
 * Wrong bot token → 401; DMs to a user who blocked the bot → 403 code 50007.
 * Injection: `failNext` (any status; 429 with `Retry-After`; or "commit, then answer 500").
 *
 * The bot's messages are also dispatched back over the gateway as MESSAGE_CREATE, as Discord does.
 * The gateway half is in fake-discord-gateway.ts; payload shapes in fake-discord-payloads.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createFakeGateway, type FakeGatewayControl } from './fake-discord-gateway.js';
import {
  APPLICATION_ID,
  BOT_USER,
  ChannelTypes,
  FAKE_DISCORD_TOKEN,
  GENERAL_CHANNEL_ID,
  GUILD_ID,
  messageCreateEvent,
  messageObject,
  OTHER_CHANNEL_ID,
  slashInteraction,
  snowflake,
  THREAD_ID,
  type ChannelInfo,
  type FakeUser,
} from './fake-discord-payloads.js';

export * from './fake-discord-payloads.js';

export const DISCORD_MESSAGE_LIMIT = 2000;

/** Roughly what Discord shows for `content`: Markdown escapes (`\\*`) removed. */
export function visibleText(content: string): string {
  return content.replace(/\\([^A-Za-z0-9\s])/g, '$1');
}

/** A message the bot posted, as users see it now. */
export interface BotMessage {
  id: string;
  channelId: string;
  content: string;
  /** Earlier contents, oldest first (one per edit). */
  history: string[];
  edits: number;
  /** When each edit came (ms since the epoch). */
  editedAt: number[];
  nonce?: string;
  enforceNonce?: boolean;
  allowedMentions?: unknown;
  /** The message this one quotes (message_reference). */
  replyTo?: string;
  /** Set when posted as an interaction's response or follow-up. */
  interactionId?: string;
  createdAt: number;
}

export interface RestCall {
  method: string;
  /** Path after `/api/v10`, interaction tokens replaced by `:token`. */
  route: string;
  status: number;
  body: any;
  at: number;
}

export interface FailureSpec {
  method: string;
  route: RegExp;
  status: number;
  /** For 429: seconds (Retry-After header and body). */
  retryAfter?: number;
  /** Carry out the request, then answer `status` anyway (a lost response). */
  afterCommit?: boolean;
  body?: Record<string, unknown>;
  times?: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  name: string;
  channelId: string;
  createdAt: number;
  callback?: { type: number; at: number };
  originalMessageId?: string;
}

export interface FakeDiscord {
  /** The `api_root` for bots.yaml (`http://127.0.0.1:P/api`). */
  url: string;
  gatewayUrl: string;
  gateway: FakeGatewayControl;
  calls: RestCall[];
  callsOf(method: string, route: RegExp): RestCall[];
  /** What the bot posted in a channel, in order. */
  messages(channelId: string): BotMessage[];
  allMessages(): BotMessage[];
  /** The DM channel id of a user (created on first use). */
  dmChannelOf(userId: string): string;
  typing: Array<{ channelId: string; at: number }>;
  interactions: Map<string, InteractionRecord>;
  /** Application commands as last registered (PUT). */
  commands: Array<Record<string, unknown>>;
  /** A user sends a DM: MESSAGE_CREATE with `channel_type: 1` and no guild. Resolves the message id. */
  dm(user: FakeUser, text: string): string;
  /** A user writes in a guild channel (default #general); `mention` puts `<@bot>` in front. */
  guildMessage(user: FakeUser, text: string, options?: { channelId?: string; mention?: boolean; replyTo?: string }): string;
  /** A user runs a slash command; resolves the interaction id. */
  slash(user: FakeUser, name: string, options?: { args?: Record<string, string>; channelId?: string; dm?: boolean }): string;
  /** The raw MESSAGE_CREATE of a message id the fake sent, to redeliver it. */
  eventOf(messageId: string): Record<string, unknown> | undefined;
  /** Dispatch a raw event (redeliveries). */
  dispatch(t: string, d: Record<string, unknown>): number;
  failNext(spec: FailureSpec): void;
  /** DMs to this user fail with 403 / 50007 ("Cannot send messages to this user"). */
  blockDms(userId: string): void;
  /** How long interaction tokens stay valid (default 15 min). */
  interactionTokenTtlMs: number;
  close(): Promise<void>;
}

const err = (status: number, code: number, message: string, extra: Record<string, unknown> = {}) => ({ status, body: { message, code, ...extra } });
const codePoints = (s: string) => [...s].length;

/** `messageContentIntent: false`: `GET /applications/@me` reports the privileged Message Content intent off. */
export async function startFakeDiscord(options: { token?: string; heartbeatIntervalMs?: number; messageContentIntent?: boolean } = {}): Promise<FakeDiscord> {
  const token = options.token ?? FAKE_DISCORD_TOKEN;
  const channels = new Map<string, ChannelInfo>([
    [GENERAL_CHANNEL_ID, { id: GENERAL_CHANNEL_ID, type: ChannelTypes.GuildText, guildId: GUILD_ID }],
    [OTHER_CHANNEL_ID, { id: OTHER_CHANNEL_ID, type: ChannelTypes.GuildText, guildId: GUILD_ID }],
    [THREAD_ID, { id: THREAD_ID, type: ChannelTypes.PublicThread, guildId: GUILD_ID, parentId: GENERAL_CHANNEL_ID }],
  ]);
  const dmChannels = new Map<string, string>();
  const dmOwner = new Map<string, string>();
  const blocked = new Set<string>();
  const botMessages = new Map<string, BotMessage[]>();
  const allById = new Map<string, { author: Record<string, unknown>; content: string; channelId: string }>();
  const events = new Map<string, Record<string, unknown>>();
  const nonces = new Map<string, BotMessage>();
  const failures: FailureSpec[] = [];
  const calls: RestCall[] = [];
  const typing: Array<{ channelId: string; at: number }> = [];
  const interactions = new Map<string, InteractionRecord>();
  let commands: Array<Record<string, unknown>> = [];
  let url = '';

  const gateway = createFakeGateway({ token, url: () => url.replace(/^http/, 'ws').replace(/\/api$/, '/gateway'), heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5000 });

  function dmChannelOf(userId: string): string {
    let id = dmChannels.get(userId);
    if (!id) {
      id = snowflake();
      dmChannels.set(userId, id);
      dmOwner.set(id, userId);
      channels.set(id, { id, type: ChannelTypes.DM });
    }
    return id;
  }

  function postBotMessage(channel: ChannelInfo, content: string, extra: Partial<BotMessage> & { interaction?: { id: string; name: string; user: FakeUser } }): BotMessage {
    const message: BotMessage = { id: snowflake(), channelId: channel.id, content, history: [], edits: 0, editedAt: [], createdAt: Date.now(), ...extra };
    delete (message as { interaction?: unknown }).interaction;
    const list = botMessages.get(channel.id) ?? [];
    list.push(message);
    botMessages.set(channel.id, list);
    const ref = message.replyTo ? allById.get(message.replyTo) : undefined;
    const payload = messageObject({
      id: message.id,
      channel,
      author: { ...BOT_USER },
      content,
      ...(message.nonce !== undefined ? { nonce: message.nonce } : {}),
      ...(message.replyTo ? { reference: { messageId: message.replyTo, ...(ref ? { author: ref.author, content: ref.content } : {}) } } : {}),
      ...(extra.interaction ? { interaction: extra.interaction } : {}),
    });
    allById.set(message.id, { author: { ...BOT_USER }, content, channelId: channel.id });
    gateway.dispatch('MESSAGE_CREATE', messageCreateEvent(payload, channel, null));
    return message;
  }

  const toJson = (m: BotMessage) => {
    const channel = channels.get(m.channelId)!;
    return messageObject({ id: m.id, channel, author: { ...BOT_USER }, content: m.content, ...(m.nonce ? { nonce: m.nonce } : {}), ...(m.edits ? { editedAt: Date.now() } : {}) });
  };

  function validateContent(body: any): { status: number; body: unknown } | null {
    const content = body?.content;
    if (typeof content !== 'string' || content.trim() === '') return err(400, 50006, 'Cannot send an empty message');
    if (codePoints(content) > DISCORD_MESSAGE_LIMIT) {
      return err(400, 50035, 'Invalid Form Body', { errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${DISCORD_MESSAGE_LIMIT} or fewer in length.` }] } } });
    }
    return null;
  }

  function editMessage(channelId: string, messageId: string, body: any): { status: number; body: unknown } {
    const m = (botMessages.get(channelId) ?? []).find((x) => x.id === messageId);
    if (!m) return err(404, 10008, 'Unknown Message');
    const bad = validateContent(body);
    if (bad) return bad;
    m.history.push(m.content);
    m.content = body.content;
    m.edits++;
    m.editedAt.push(Date.now());
    return { status: 200, body: toJson(m) };
  }

  function interactionFor(appId: string, itoken: string): InteractionRecord | { status: number; body: unknown } {
    const i = [...interactions.values()].find((x) => x.token === itoken);
    if (appId !== APPLICATION_ID || !i) return err(404, 10015, 'Unknown Webhook');
    if (Date.now() - i.createdAt > fake.interactionTokenTtlMs) return err(401, 50027, 'Invalid Webhook Token');
    return i;
  }

  async function route(method: string, path: string, body: any, auth: string | undefined): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const botAuth = () => auth === `Bot ${token}`;
    let m: RegExpExecArray | null;
    if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) && method === 'POST') {
      const i = interactions.get(m[1]!);
      if (!i || i.token !== m[2]) return err(404, 10062, 'Unknown interaction');
      if (i.callback) return err(400, 40060, 'Interaction has already been acknowledged.');
      if (Date.now() - i.createdAt > 3000) return err(404, 10062, 'Unknown interaction');
      i.callback = { type: body?.type, at: Date.now() };
      if (body?.type === 4) {
        const bad = validateContent(body.data);
        if (bad) return bad;
        i.originalMessageId = postBotMessage(channels.get(i.channelId)!, body.data.content, { interactionId: i.id, allowedMentions: body.data.allowed_mentions }).id;
      }
      return { status: 204, body: null };
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(path))) {
      const found = interactionFor(m[1]!, m[2]!);
      if ('status' in found) return found;
      const target = m[3];
      if (method === 'PATCH' && target) {
        if (target === '@original') {
          if (!found.callback) return err(404, 10008, 'Unknown Message');
          if (!found.originalMessageId) {
            const bad = validateContent(body);
            if (bad) return bad;
            const msg = postBotMessage(channels.get(found.channelId)!, body.content, { interactionId: found.id, allowedMentions: body.allowed_mentions });
            found.originalMessageId = msg.id;
            return { status: 200, body: toJson(msg) };
          }
          return editMessage(found.channelId, found.originalMessageId, body);
        }
        return editMessage(found.channelId, target, body);
      }
      if (method === 'POST' && !target) {
        if (!found.callback) return err(400, 40060, 'The interaction has not been acknowledged.');
        const bad = validateContent(body);
        if (bad) return bad;
        return { status: 200, body: toJson(postBotMessage(channels.get(found.channelId)!, body.content, { interactionId: found.id, allowedMentions: body.allowed_mentions })) };
      }
      if (method === 'DELETE' && target) return { status: 204, body: null };
    }
    if (!botAuth()) return err(401, 0, '401: Unauthorized');
    if (method === 'GET' && path === '/gateway/bot') {
      return { status: 200, body: { url: url.replace(/^http/, 'ws').replace(/\/api$/, '/gateway'), shards: 1, session_start_limit: { total: 1000, remaining: 1000 - gateway.identifies, reset_after: 86_400_000, max_concurrency: 1 } } };
    }
    if (method === 'GET' && path === '/users/@me') return { status: 200, body: { ...BOT_USER, verified: true, flags: 0 } };
    // Application flags: GATEWAY_MESSAGE_CONTENT (1 << 18) when the privileged intent is on.
    if (method === 'GET' && path === '/applications/@me') return { status: 200, body: { id: APPLICATION_ID, name: 'fake app', flags: options.messageContentIntent === false ? 0 : 1 << 18 } };
    if ((m = /^\/applications\/(\d+)\/commands$/.exec(path))) {
      if (m[1] !== APPLICATION_ID) return err(403, 50001, 'Missing Access');
      if (method === 'PUT') commands = (body as Array<Record<string, unknown>>).map((c) => ({ ...c, id: snowflake(), application_id: APPLICATION_ID, version: snowflake() }));
      return { status: 200, body: commands };
    }
    if ((m = /^\/channels\/(\d+)\/typing$/.exec(path)) && method === 'POST') {
      if (!channels.has(m[1]!)) return err(404, 10003, 'Unknown Channel');
      typing.push({ channelId: m[1]!, at: Date.now() });
      return { status: 204, body: null };
    }
    if ((m = /^\/channels\/(\d+)\/messages$/.exec(path)) && method === 'POST') {
      const channel = channels.get(m[1]!);
      if (!channel) return err(404, 10003, 'Unknown Channel');
      const owner = dmOwner.get(channel.id);
      if (owner && blocked.has(owner)) return err(403, 50007, 'Cannot send messages to this user');
      const bad = validateContent(body);
      if (bad) return bad;
      const nonce = body.nonce === undefined ? undefined : String(body.nonce);
      if (nonce !== undefined && nonce.length > 25) return err(400, 50035, 'Invalid Form Body', { errors: { nonce: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' }] } } });
      const nonceKey = `${channel.id}|${nonce}`;
      if (nonce !== undefined && body.enforce_nonce === true && nonces.has(nonceKey)) return { status: 200, body: toJson(nonces.get(nonceKey)!) };
      const replyTo = body.message_reference?.message_id as string | undefined;
      const msg = postBotMessage(channel, body.content, {
        ...(nonce !== undefined ? { nonce, enforceNonce: body.enforce_nonce === true } : {}),
        allowedMentions: body.allowed_mentions,
        ...(replyTo ? { replyTo } : {}),
      });
      if (nonce !== undefined) nonces.set(nonceKey, msg);
      return { status: 200, body: toJson(msg) };
    }
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && method === 'PATCH') return editMessage(m[1]!, m[2]!, body);
    return err(404, 0, '404: Not Found');
  }

  const server = createServer((req, res) => void handle(req, res).catch((e: unknown) => send(res, 500, { message: `fake bug: ${String(e)}`, code: 0 })));

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: any = null;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, { message: '400: Bad Request', code: 50109 });
      }
    }
    const method = req.method ?? 'GET';
    const fullPath = (req.url ?? '').split('?')[0]!;
    if (!fullPath.startsWith('/api/v10/')) return send(res, 404, { message: '404: Not Found', code: 0 });
    const path = fullPath.slice('/api/v10'.length);
    const shown = path.replace(/^(\/interactions\/\d+\/)[^/]+/, '$1:token').replace(/^(\/webhooks\/\d+\/)[^/]+/, '$1:token');
    const failure = failures.find((f) => f.method === method && f.route.test(shown));
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
      if (failure.afterCommit) await route(method, path, body, req.headers.authorization);
      const headers: Record<string, string> = {};
      let payload: Record<string, unknown> = failure.body ?? { message: `fake failure ${failure.status}`, code: 0 };
      if (failure.status === 429) {
        const after = failure.retryAfter ?? 1;
        headers['retry-after'] = String(after);
        headers['x-ratelimit-scope'] = 'user';
        payload = { message: 'You are being rate limited.', retry_after: after, global: false };
      }
      calls.push({ method, route: shown, status: failure.status, body, at: Date.now() });
      return send(res, failure.status, payload, headers);
    }
    const result = await route(method, path, body, req.headers.authorization);
    calls.push({ method, route: shown, status: result.status, body, at: Date.now() });
    send(res, result.status, result.body, result.headers);
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    if (res.headersSent) return;
    if (status === 204 || body === null) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] === '/gateway') gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}/api`;

  function userMessage(user: FakeUser, channel: ChannelInfo, content: string, mentions: FakeUser[], replyTo?: string): string {
    const id = snowflake();
    const ref = replyTo ? allById.get(replyTo) : undefined;
    const payload = messageObject({ id, channel, author: { id: user.id, username: user.username, global_name: user.username, discriminator: '0', avatar: null }, content, mentions, ...(replyTo ? { reference: { messageId: replyTo, ...(ref ? { author: ref.author, content: ref.content } : {}) } } : {}) });
    allById.set(id, { author: payload.author as Record<string, unknown>, content, channelId: channel.id });
    const event = messageCreateEvent(payload, channel, user);
    events.set(id, event);
    gateway.dispatch('MESSAGE_CREATE', event);
    return id;
  }

  const fake: FakeDiscord = {
    url,
    gatewayUrl: url.replace(/^http/, 'ws').replace(/\/api$/, '/gateway'),
    gateway,
    calls,
    callsOf: (method, r) => calls.filter((c) => c.method === method && r.test(c.route)),
    messages: (channelId) => [...(botMessages.get(channelId) ?? [])],
    allMessages: () => [...botMessages.values()].flat(),
    dmChannelOf,
    typing,
    interactions,
    get commands() {
      return commands;
    },
    interactionTokenTtlMs: 15 * 60_000,
    dm(user, text) {
      return userMessage(user, channels.get(dmChannelOf(user.id))!, text, []);
    },
    guildMessage(user, text, o = {}) {
      const channel = channels.get(o.channelId ?? GENERAL_CHANNEL_ID);
      if (!channel) throw new Error(`fake discord: unknown channel ${o.channelId}`);
      const mentions = o.mention ? [{ id: BOT_USER.id, username: BOT_USER.username }] : [];
      return userMessage(user, channel, o.mention ? `<@${BOT_USER.id}> ${text}` : text, mentions, o.replyTo);
    },
    slash(user, name, o = {}) {
      const channel = o.dm ? channels.get(dmChannelOf(user.id))! : channels.get(o.channelId ?? GENERAL_CHANNEL_ID)!;
      const id = snowflake();
      const itoken = `aW50ZXJhY3Rpb24.${randomBytes(12).toString('base64url')}`;
      interactions.set(id, { id, token: itoken, name, channelId: channel.id, createdAt: Date.now() });
      gateway.dispatch('INTERACTION_CREATE', slashInteraction({ id, token: itoken, name, ...(o.args ? { options: o.args } : {}), user, channel }));
      return id;
    },
    eventOf: (id) => events.get(id),
    dispatch: (t, d) => gateway.dispatch(t, d),
    failNext: (spec) => void failures.push({ ...spec }),
    blockDms: (userId) => void blocked.add(userId),
    close: async () => {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
