/**
 * A fake Telegram Bot API server: real HTTP on 127.0.0.1 speaking the Bot API wire format, so
 * the real grammY (inside a spawned `bot telegram`) runs unmodified against it via `api_root`.
 *
 * - Methods: getMe, getUpdates (offset confirmation, long-poll timeout, 409 when a second poller
 *   overlaps or a webhook is set), setWebhook / deleteWebhook / getWebhookInfo (a set webhook
 *   gets every pushed update POSTed with the secret header, retried like Telegram does),
 *   sendMessage, editMessageText, sendChatAction, setMyCommands.
 * - Validates like Telegram: HTML parse mode must be well-formed with Telegram's tags and
 *   entities ("can't parse entities" otherwise), text ≤ 4096 UTF-16 units after parsing,
 *   "message is not modified", "message to edit not found", unknown token → 401.
 * - Injection: `failNext(method, error, times)` (e.g. 429 with retry_after; `ECHO_REQUEST` in the
 *   description echoes the request URL and headers), `rejectFormatting(n)`.
 * - Records every call (`calls`) and keeps each chat's messages as users would see them.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_TOKEN = '123456:TEST-FAKE-TOKEN';
/** In a `failNext` description: replaced by the request's method, URL (with the token) and headers. */
export const ECHO_REQUEST = '{request}';
export const BOT_USER = Object.freeze({ id: 777000, is_bot: true, first_name: 'Test Bot', username: 'test_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });

export interface ApiCall {
  method: string;
  params: Record<string, any>;
  at: number;
  /** HTTP-like result code returned (200 ok). */
  status: number;
  /** Set on errors. */
  description?: string;
}

export interface BotMessage {
  chatId: number;
  messageId: number;
  text: string;
  parseMode?: string;
  threadId?: number;
  replyTo?: number;
  edits: number;
  /** The visible text (tags removed, entities decoded). */
  visible: string;
}

export interface ApiErrorSpec {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export interface UserMessage {
  chat: { id: number; type: 'private' | 'group' | 'supergroup'; title?: string; is_forum?: boolean };
  from: { id: number; username?: string; first_name?: string };
  text?: string;
  caption?: string;
  photo?: boolean;
  document?: { file_name: string; mime_type: string };
  reply_to_message_id?: number;
  /** Reply to a message sent by the bot. */
  reply_to_bot_message_id?: number;
  message_thread_id?: number;
  message_id?: number;
}

const TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'a', 'code', 'pre', 'span', 'tg-spoiler', 'blockquote', 'tg-emoji']);
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** Parses Telegram HTML like the Bot API: the visible text, or an error description. */
export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  const stack: string[] = [];
  let text = '';
  for (let i = 0; i < html.length; ) {
    const ch = html[i]!;
    if (ch === '<') {
      const m = /^<(\/?)([a-z-]+)((?:\s+[a-z-]+="[^"]*")*)\s*>/.exec(html.slice(i));
      if (!m) return { error: `Bad Request: can't parse entities: Unsupported start tag at byte offset ${i}` };
      const [, close, tag] = m;
      if (!TAGS.has(tag!)) return { error: `Bad Request: can't parse entities: Unsupported start tag "${tag}" at byte offset ${i}` };
      if (close) {
        if (stack.pop() !== tag) return { error: `Bad Request: can't parse entities: Unmatched end tag at byte offset ${i}, expected "</${stack.at(-1) ?? ''}>", found "</${tag}>"` };
      } else stack.push(tag!);
      i += m[0].length;
    } else if (ch === '&') {
      const m = /^&(#\d+|#x[0-9a-f]+|[a-z]+);/i.exec(html.slice(i));
      if (!m) return { error: `Bad Request: can't parse entities: Character '&' is reserved and must be escaped at byte offset ${i}` };
      const name = m[1]!;
      if (name.startsWith('#')) text += String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
      else if (ENTITIES[name] !== undefined) text += ENTITIES[name];
      else return { error: `Bad Request: can't parse entities: Unknown entity &${name};` };
      i += m[0].length;
    } else if (ch === '>') {
      return { error: `Bad Request: can't parse entities: Character '>' is reserved at byte offset ${i}` };
    } else {
      text += ch;
      i++;
    }
  }
  if (stack.length > 0) return { error: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { text };
}

export interface FakeTelegram {
  url: string;
  calls: ApiCall[];
  /** Messages the bot sent, per chat, in order, as they look now. */
  messages(chatId: number): BotMessage[];
  /** Queue a user message as an update (delivered by getUpdates or to the webhook); returns the update_id. */
  userSays(m: UserMessage): number;
  /** Queue a raw update object (update_id is assigned when absent); returns the update_id. */
  pushUpdate(update: Record<string, any>): number;
  /** Every update pushed so far, by update_id. */
  update(updateId: number): Record<string, any> | undefined;
  /** Updates below this id were confirmed by a getUpdates offset (polling acknowledgements). */
  readonly confirmedBelow: number;
  failNext(method: string, error: ApiErrorSpec, times?: number): void;
  /** The next `n` formatted sends/edits fail with "can't parse entities". */
  rejectFormatting(n: number): void;
  /** How many times two getUpdates calls overlapped (each is answered 409). */
  readonly conflicts: number;
  /** Current webhook (set by setWebhook). */
  readonly webhook: { url: string; secret?: string } | undefined;
  /** Results of webhook deliveries: update_id → HTTP status of each attempt. */
  webhookAttempts: Map<number, number[]>;
  callsOf(method: string): ApiCall[];
  close(): Promise<void>;
}

export async function startFakeTelegram(options: { token?: string } = {}): Promise<FakeTelegram> {
  const token = options.token ?? FAKE_TOKEN;
  const calls: ApiCall[] = [];
  const chats = new Map<number, BotMessage[]>();
  const nextMessageId = new Map<number, number>();
  const pending: Array<Record<string, any>> = [];
  let nextUpdateId = 1000;
  let confirmedBelow = 0;
  let poller: { res: ServerResponse; timer: NodeJS.Timeout; offset: number; finish: (updates: unknown[] | null) => void } | undefined;
  let conflicts = 0;
  const failures = new Map<string, ApiErrorSpec[]>();
  let formattingFailures = 0;
  let webhook: { url: string; secret?: string } | undefined;
  const webhookAttempts = new Map<number, number[]>();

  const idFor = (chatId: number) => {
    const n = (nextMessageId.get(chatId) ?? 1) + 1;
    nextMessageId.set(chatId, n);
    return n;
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, { ok: false, error_code: 500, description: `fake bug: ${String(err)}` });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const m = /^\/bot([^/]+)\/(\w+)$/.exec((req.url ?? '').split('?')[0]!);
    const body = await readJson(req);
    if (!m) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, tok, method] = m;
    const call: ApiCall = { method: method!, params: body, at: Date.now(), status: 200 };
    calls.push(call);
    const fail = (spec: ApiErrorSpec) => {
      // A careless upstream echoing the request (its URL carries the token) into the error.
      const description = spec.description.split(ECHO_REQUEST).join(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      call.status = spec.error_code;
      call.description = description;
      send(res, spec.error_code, { ok: false, ...spec, description });
    };
    const ok = (result: unknown) => send(res, 200, { ok: true, result });
    if (tok !== token) return fail({ error_code: 401, description: 'Unauthorized' });
    const injected = failures.get(method!);
    if (injected && injected.length > 0) return fail(injected.shift()!);

    switch (method) {
      case 'getMe':
        return ok(BOT_USER);
      case 'setMyCommands':
      case 'sendChatAction':
        return ok(true);
      case 'setWebhook':
        webhook = { url: String(body.url), ...(body.secret_token ? { secret: String(body.secret_token) } : {}) };
        for (const u of pending.splice(0)) void deliverToWebhook(u);
        return ok(true);
      case 'deleteWebhook':
        webhook = undefined;
        if (body.drop_pending_updates) pending.splice(0);
        return ok(true);
      case 'getWebhookInfo':
        return ok({ url: webhook?.url ?? '', has_custom_certificate: false, pending_update_count: pending.length });
      case 'getUpdates':
        return getUpdates(body, res, call);
      case 'sendMessage':
        return sendMessage(body, ok, fail);
      case 'editMessageText':
        return editMessageText(body, ok, fail);
      case 'deleteMessage': {
        const list = chats.get(Number(body.chat_id));
        const at = list?.findIndex((x) => x.messageId === Number(body.message_id)) ?? -1;
        if (at < 0) return fail({ error_code: 400, description: 'Bad Request: message to delete not found' });
        list!.splice(at, 1);
        return ok(true);
      }
      default:
        return fail({ error_code: 404, description: 'Not Found: method not found' });
    }
  }

  function getUpdates(body: Record<string, any>, res: ServerResponse, call: ApiCall) {
    if (webhook) {
      call.status = 409;
      return send(res, 409, { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    }
    const offset = Number(body.offset ?? 0);
    if (offset > confirmedBelow) confirmedBelow = offset;
    // Confirmed updates are forgotten, as Telegram does.
    while (pending.length > 0 && pending[0]!.update_id < confirmedBelow) pending.shift();
    if (poller) {
      // Telegram terminates the older request: "terminated by other getUpdates request".
      conflicts++;
      poller.finish(null);
    }
    const ready = pending.filter((u) => u.update_id >= offset).slice(0, 100);
    if (ready.length > 0 || !body.timeout) return send(res, 200, { ok: true, result: ready });
    const finish = (updates: unknown[] | null) => {
      clearTimeout(timer);
      if (poller?.res === res) poller = undefined;
      if (updates === null) {
        call.status = 409;
        return send(res, 409, { ok: false, error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
      }
      send(res, 200, { ok: true, result: updates });
    };
    const timer = setTimeout(() => finish([]), Number(body.timeout) * 1000);
    poller = { res, timer, offset, finish };
    res.on('close', () => {
      if (poller?.res === res) {
        clearTimeout(timer);
        poller = undefined;
      }
    });
  }

  function checkText(body: Record<string, any>): { visible: string } | ApiErrorSpec {
    const text = String(body.text ?? '');
    let visible = text;
    if (body.parse_mode === 'HTML') {
      if (formattingFailures > 0) {
        formattingFailures--;
        return { error_code: 400, description: "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 7" };
      }
      const parsed = parseTelegramHtml(text);
      if ('error' in parsed) return { error_code: 400, description: parsed.error };
      visible = parsed.text;
    } else if (body.parse_mode) {
      return { error_code: 400, description: `Bad Request: unsupported parse_mode in this fake: ${body.parse_mode}` };
    }
    if (visible.trim().length === 0) return { error_code: 400, description: 'Bad Request: message text is empty' };
    if (visible.length > 4096) return { error_code: 400, description: 'Bad Request: message is too long' };
    return { visible };
  }

  function sendMessage(body: Record<string, any>, ok: (r: unknown) => void, fail: (e: ApiErrorSpec) => void) {
    const chatId = Number(body.chat_id);
    const checked = checkText(body);
    if ('error_code' in checked) return fail(checked);
    const messageId = idFor(chatId);
    const msg: BotMessage = {
      chatId,
      messageId,
      text: String(body.text),
      ...(body.parse_mode ? { parseMode: String(body.parse_mode) } : {}),
      ...(body.message_thread_id !== undefined ? { threadId: Number(body.message_thread_id) } : {}),
      ...(body.reply_parameters?.message_id !== undefined ? { replyTo: Number(body.reply_parameters.message_id) } : {}),
      edits: 0,
      visible: checked.visible,
    };
    if (!chats.has(chatId)) chats.set(chatId, []);
    chats.get(chatId)!.push(msg);
    ok({ message_id: messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: chatId > 0 ? 'private' : 'supergroup' }, from: BOT_USER, text: checked.visible });
  }

  function editMessageText(body: Record<string, any>, ok: (r: unknown) => void, fail: (e: ApiErrorSpec) => void) {
    const chatId = Number(body.chat_id);
    const msg = chats.get(chatId)?.find((x) => x.messageId === Number(body.message_id));
    if (!msg) return fail({ error_code: 400, description: 'Bad Request: message to edit not found' });
    const checked = checkText(body);
    if ('error_code' in checked) return fail(checked);
    if (msg.text === String(body.text) && msg.parseMode === body.parse_mode) {
      return fail({ error_code: 400, description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message' });
    }
    msg.text = String(body.text);
    msg.visible = checked.visible;
    if (body.parse_mode) msg.parseMode = String(body.parse_mode);
    else delete msg.parseMode;
    msg.edits++;
    ok({ message_id: msg.messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, text: checked.visible });
  }

  const pushed = new Map<number, Record<string, any>>();
  function pushUpdate(update: Record<string, any>): number {
    const u = { ...update, update_id: update.update_id ?? nextUpdateId++ };
    nextUpdateId = Math.max(nextUpdateId, u.update_id + 1);
    pushed.set(u.update_id, u);
    if (webhook) {
      void deliverToWebhook(u);
      return u.update_id;
    }
    pending.push(u);
    pending.sort((a, b) => a.update_id - b.update_id);
    if (poller) {
      const ready = pending.filter((x) => x.update_id >= poller!.offset);
      if (ready.length > 0) poller.finish(ready);
    }
    return u.update_id;
  }

  /** POST to the webhook like Telegram: retried (here up to 100 times, 200 ms apart) until a 2xx. */
  async function deliverToWebhook(u: Record<string, any>) {
    const hook = webhook!;
    for (let attempt = 0; attempt < 100; attempt++) {
      const status = await postJson(hook.url, u, hook.secret ? { 'X-Telegram-Bot-Api-Secret-Token': hook.secret } : {}).catch(() => 0);
      if (!webhookAttempts.has(u.update_id)) webhookAttempts.set(u.update_id, []);
      webhookAttempts.get(u.update_id)!.push(status);
      if (status >= 200 && status < 300) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  function userSays(m: UserMessage): number {
    const chatId = m.chat.id;
    const messageId = m.message_id ?? idFor(chatId);
    const text = m.text ?? m.caption ?? '';
    const entities: Array<Record<string, unknown>> = [];
    for (const e of text.matchAll(/\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|@[A-Za-z0-9_]{3,}/g)) {
      const isCommand = e[0].startsWith('/');
      if (isCommand && e.index !== 0) continue;
      entities.push({ type: isCommand ? 'bot_command' : 'mention', offset: e.index, length: e[0].length });
    }
    const message: Record<string, any> = {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { ...m.chat, ...(m.chat.type === 'private' ? { first_name: m.from.first_name ?? 'User' } : { title: m.chat.title ?? 'Group' }) },
      from: { is_bot: false, first_name: 'User', ...m.from },
    };
    if (m.text !== undefined) message.text = m.text;
    if (m.caption !== undefined) message.caption = m.caption;
    if (entities.length > 0) message[m.text !== undefined ? 'entities' : 'caption_entities'] = entities;
    if (m.photo) message.photo = [{ file_id: 'p1', file_unique_id: 'u1', width: 90, height: 90 }];
    if (m.document) message.document = { file_id: 'd1', file_unique_id: 'u2', ...m.document };
    if (m.message_thread_id !== undefined) {
      message.message_thread_id = m.message_thread_id;
      message.is_topic_message = true;
    }
    if (m.reply_to_bot_message_id !== undefined) {
      message.reply_to_message = { message_id: m.reply_to_bot_message_id, date: message.date, chat: message.chat, from: BOT_USER, text: 'earlier' };
    } else if (m.reply_to_message_id !== undefined) {
      message.reply_to_message = { message_id: m.reply_to_message_id, date: message.date, chat: message.chat, from: { id: 1, is_bot: false, first_name: 'Other' }, text: 'earlier' };
    }
    return pushUpdate({ message });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    calls,
    messages: (chatId) => chats.get(chatId) ?? [],
    userSays,
    pushUpdate,
    update: (id) => pushed.get(id),
    get confirmedBelow() {
      return confirmedBelow;
    },
    failNext(method, error, times = 1) {
      if (!failures.has(method)) failures.set(method, []);
      for (let i = 0; i < times; i++) failures.get(method)!.push(error);
    },
    rejectFormatting(n) {
      formattingFailures += n;
    },
    get conflicts() {
      return conflicts;
    },
    get webhook() {
      return webhook;
    },
    webhookAttempts,
    callsOf: (method) => calls.filter((c) => c.method === method),
    close() {
      closed ??= new Promise<void>((resolve) => {
        poller?.finish([]);
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  const parts: Buffer[] = [];
  for await (const d of req) parts.push(d as Buffer);
  const raw = Buffer.concat(parts).toString('utf8');
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Record<string, any>;
  } catch {
    return {};
  }
}

/** POSTs JSON; resolves with the status code. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(data);
  });
}
