/**
 * A fake Slack on 127.0.0.1 speaking Slack's wire protocols, so the real bolt (inside a spawned
 * `bot slack`, or in-process) runs unmodified against it via `api_url`:
 *
 * - Web API (`POST /api/<method>`, form or JSON, token in the Authorization header): auth.test,
 *   chat.postMessage (metadata kept), chat.update, reactions.add/remove, conversations.history /
 *   replies / info, apps.connections.open (app token; returns this server's `ws://` URL).
 *   Unknown or revoked tokens → `invalid_auth` / `token_revoked`.
 * - Events API over HTTP: `deliver()` POSTs an event signed with the signing secret (or a forged
 *   or stale signature) to the bot's URL, retrying like Slack with `X-Slack-Retry-Num` when the
 *   answer is not a 2xx within the 3 s deadline; slash commands are form-encoded POSTs.
 * - Socket Mode (fake-slack-socket.ts): hello, envelopes, acks, disconnect, pings, silence.
 * - Injection: `failNext(method, failure, times)` — a platform error, a 429 with Retry-After, or
 *   a delay (the call still takes effect, like a post whose answer was lost).
 * - Records every call and keeps each channel's messages (users' and the bot's) as Slack would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { slackSignature } from '../../adapters/slack/verify.js';
import { attachSocketMode, type FakeSocketMode } from './fake-slack-socket.js';

export const FAKE_SLACK = Object.freeze({
  botToken: 'xoxb-fake-slack-bot-token-7f3a9c',
  appToken: 'xapp-1-fake-slack-app-token-5e2b8d',
  signingSecret: 'fake-slack-signing-secret-91c4e7a2',
  teamId: 'T0FAKE01',
  botUserId: 'UBOTFAKE1',
  botId: 'BBOTFAKE1',
  botName: 'testbot',
});

export interface ApiCall {
  method: string;
  params: Record<string, any>;
  at: number;
  ok: boolean;
  error?: string;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  user?: string;
  bot_id?: string;
  thread_ts?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  mrkdwn?: boolean;
  edits: number;
  /** Every text the message had, oldest first. */
  history: string[];
  /** When it was posted and when each edit came (ms since the epoch). */
  postedAt: number;
  editedAt: number[];
}

export type Failure = { error: string } | { status: 429; retryAfter: number } | { delayMs: number };

export interface DeliverOptions {
  signature?: 'valid' | 'forged' | 'stale';
  /** Send with X-Slack-Retry-Num (a retry of an earlier delivery). */
  retryNum?: number;
  /** Retry like Slack when the answer is not a 2xx in time (default true, up to 3 retries). */
  retries?: boolean;
  /** Wait before each retry (Slack: about 1 min, 5 min, 30 min; default 300 ms, 1 s, 3 s). */
  retryDelaysMs?: readonly number[];
  /** Told about every attempt as it completes. */
  onAttempt?: (attempt: DeliveryAttempt) => void;
  /** Slack's deadline for an answer (default 3000 ms). */
  deadlineMs?: number;
  /** Change the body after signing (tampering). */
  tamper?: (body: string) => string;
}

export interface DeliveryAttempt {
  status: number;
  ms: number;
  retryNum: number;
}

export interface UserMessageSpec {
  user: string;
  channel: string;
  text: string;
  channel_type?: 'im' | 'channel' | 'group' | 'mpim';
  thread_ts?: string;
  ts?: string;
  parent_user_id?: string;
}

export interface FakeSlack {
  url: string;
  apiUrl: string;
  calls: ApiCall[];
  callsOf(method: string): ApiCall[];
  /** Messages in a channel (a thread's replies included), oldest first. */
  messages(channel: string): SlackMessage[];
  botMessages(channel?: string): SlackMessage[];
  /** Messages removed with chat.delete, in order. */
  deleted: SlackMessage[];
  reactions(channel: string, ts: string): string[];
  /** Every response_url POST: url id → bodies. */
  responses: Map<string, Record<string, any>[]>;
  failNext(method: string, failure: Failure, times?: number): void;
  revokeToken(): void;
  /** The bot token's scopes, sent in `x-oauth-scopes` (default: every scope docs/slack.md's manifest asks for). */
  scopes: string[];
  /** A new message ts (monotonic). */
  nextTs(): string;
  /** Records a user's message and returns its Events API bodies (`message`, and `app_mention` when it mentions the bot). */
  userSays(spec: UserMessageSpec): { ts: string; message: Record<string, any>; mention?: Record<string, any> };
  /** An `event_callback` body around `event` (a fresh event_id unless given). */
  envelope(event: Record<string, any>, eventId?: string): Record<string, any>;
  /** A slash command's form fields. */
  command(spec: { user: string; channel: string; command: string; text?: string }): Record<string, string>;
  /** POSTs a signed Events API body (or form fields) to `target`; resolves every attempt. */
  deliver(target: string, body: Record<string, any>, options?: DeliverOptions): Promise<DeliveryAttempt[]>;
  socket: FakeSocketMode;
  close(): Promise<void>;
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const calls: ApiCall[] = [];
  const channels = new Map<string, SlackMessage[]>();
  const reactionsByMessage = new Map<string, Set<string>>();
  const deleted: SlackMessage[] = [];
  const failures = new Map<string, Failure[]>();
  const responses = new Map<string, Record<string, any>[]>();
  let tsSecond = 0;
  let tsSub = 0;
  let eventCounter = 0;
  let revoked = false;
  let scopes = ['app_mentions:read', 'chat:write', 'commands', 'reactions:write', 'channels:history', 'groups:history', 'im:history', 'mpim:history'];
  let url = '';

  /** Real-time seconds (the adapter searches recent history by time) and a counter: unique, increasing. */
  const nextTs = () => {
    const now = Math.floor(Date.now() / 1000);
    if (now > tsSecond) [tsSecond, tsSub] = [now, 0];
    return `${tsSecond}.${String(++tsSub).padStart(6, '0')}`;
  };
  const list = (channel: string) => {
    let l = channels.get(channel);
    if (!l) channels.set(channel, (l = []));
    return l;
  };
  const find = (channel: string, ts: string) => channels.get(channel)?.find((m) => m.ts === ts);

  const server: Server = createServer((req, res) => void handle(req, res).catch((err) => send(res, 500, { ok: false, error: String(err) })));
  const socket = attachSocketMode(server, () => url);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '').split('?')[0]!;
    const raw = await readRaw(req);
    if (path.startsWith('/response/')) {
      const id = path.slice('/response/'.length);
      responses.set(id, [...(responses.get(id) ?? []), JSON.parse(raw) as Record<string, any>]);
      return send(res, 200, 'ok');
    }
    if (!path.startsWith('/api/')) return send(res, 404, 'not found');
    const method = path.slice('/api/'.length);
    const params = parseParams(raw, String(req.headers['content-type'] ?? ''));
    const auth = String(req.headers.authorization ?? '').replace(/^Bearer /, '') || String(params.token ?? '');
    const call: ApiCall = { method, params, at: Date.now(), ok: true };
    calls.push(call);
    const fail = (error: string) => {
      call.ok = false;
      call.error = error;
      send(res, 200, { ok: false, error });
    };
    const queued = failures.get(method);
    const failure = queued?.shift();
    let delayMs = 0;
    if (failure && 'error' in failure) return fail(failure.error);
    if (failure && 'status' in failure) {
      call.ok = false;
      call.error = 'ratelimited';
      res.writeHead(429, { 'retry-after': String(failure.retryAfter), 'content-type': 'application/json' });
      return res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    }
    if (failure && 'delayMs' in failure) delayMs = failure.delayMs;
    const isApp = method === 'apps.connections.open';
    if (auth !== (isApp ? FAKE_SLACK.appToken : FAKE_SLACK.botToken)) return fail(isApp ? 'invalid_auth' : auth.startsWith('xapp-') ? 'not_allowed_token_type' : 'invalid_auth');
    if (revoked && !isApp) return fail('token_revoked');
    const result = api(method, params);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if ('error' in result) return fail(result.error as string);
    // Slack names the token's scopes on every Web API answer.
    if (!isApp) res.setHeader('x-oauth-scopes', scopes.join(','));
    send(res, 200, { ok: true, ...result });
  }

  function api(method: string, p: Record<string, any>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { url: 'https://fake.slack.test/', team: 'Fake Team', user: FAKE_SLACK.botName, team_id: FAKE_SLACK.teamId, user_id: FAKE_SLACK.botUserId, bot_id: FAKE_SLACK.botId };
      case 'chat.postMessage': {
        if (!p.channel) return { error: 'channel_not_found' };
        if (typeof p.text !== 'string' || p.text.trim() === '') return { error: 'no_text' };
        if (p.text.length > 40_000) return { error: 'msg_too_long' };
        if (String(p.channel).startsWith('CGONE')) return { error: 'channel_not_found' };
        const metadata = typeof p.metadata === 'string' ? JSON.parse(p.metadata) : p.metadata;
        const m: SlackMessage = {
          channel: p.channel,
          ts: nextTs(),
          text: p.text,
          user: FAKE_SLACK.botUserId,
          bot_id: FAKE_SLACK.botId,
          ...(p.thread_ts ? { thread_ts: String(p.thread_ts) } : {}),
          ...(metadata ? { metadata } : {}),
          mrkdwn: p.mrkdwn !== 'false' && p.mrkdwn !== false,
          edits: 0,
          history: [p.text],
          postedAt: Date.now(),
          editedAt: [],
        };
        list(p.channel).push(m);
        return { channel: p.channel, ts: m.ts, message: { text: m.text, ts: m.ts, user: m.user, bot_id: m.bot_id } };
      }
      case 'chat.update': {
        const m = find(p.channel, p.ts);
        if (!m) return { error: 'message_not_found' };
        if (m.user !== FAKE_SLACK.botUserId) return { error: 'cant_update_message' };
        if (typeof p.text !== 'string' || p.text.length > 40_000) return { error: 'msg_too_long' };
        m.text = p.text;
        m.edits++;
        m.history.push(p.text);
        m.editedAt.push(Date.now());
        return { channel: p.channel, ts: m.ts, text: m.text };
      }
      case 'chat.delete': {
        const m = find(p.channel, p.ts);
        if (!m) return { error: 'message_not_found' };
        if (m.user !== FAKE_SLACK.botUserId) return { error: 'cant_delete_message' };
        const all = channels.get(p.channel)!;
        all.splice(all.indexOf(m), 1);
        deleted.push(m);
        return { channel: p.channel, ts: m.ts };
      }
      case 'reactions.add':
      case 'reactions.remove': {
        if (!find(p.channel, p.timestamp)) return { error: 'message_not_found' };
        const key = `${p.channel}:${p.timestamp}`;
        const set = reactionsByMessage.get(key) ?? new Set<string>();
        reactionsByMessage.set(key, set);
        if (method === 'reactions.add') {
          if (set.has(p.name)) return { error: 'already_reacted' };
          set.add(p.name);
        } else {
          if (!set.has(p.name)) return { error: 'no_reaction' };
          set.delete(p.name);
        }
        return {};
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const all = channels.get(p.channel) ?? [];
        const oldest = Number(p.oldest ?? 0);
        const withMeta = p.include_all_metadata === true || p.include_all_metadata === 'true';
        const picked = method === 'conversations.replies' ? all.filter((m) => m.ts === p.ts || m.thread_ts === p.ts) : all.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
        const out = picked
          .filter((m) => Number(m.ts) >= oldest)
          .map((m) => ({ type: 'message', ts: m.ts, text: m.text, ...(m.user ? { user: m.user } : {}), ...(m.bot_id ? { bot_id: m.bot_id } : {}), ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}), ...(withMeta && m.metadata ? { metadata: m.metadata } : {}) }));
        return { messages: method === 'conversations.history' ? out.reverse() : out, has_more: false };
      }
      case 'conversations.info':
        return { channel: { id: p.channel, is_im: String(p.channel).startsWith('D') } };
      case 'apps.connections.open':
        return { url: socket.connectUrl() };
      default:
        return { error: 'unknown_method' };
    }
  }

  function userSays(spec: UserMessageSpec) {
    const ts = spec.ts ?? nextTs();
    const channelType = spec.channel_type ?? (spec.channel.startsWith('D') ? 'im' : 'channel');
    list(spec.channel).push({ channel: spec.channel, ts, text: spec.text, user: spec.user, ...(spec.thread_ts ? { thread_ts: spec.thread_ts } : {}), edits: 0, history: [spec.text], postedAt: Date.now(), editedAt: [] });
    const base = {
      user: spec.user,
      text: spec.text,
      ts,
      channel: spec.channel,
      team: FAKE_SLACK.teamId,
      event_ts: ts,
      client_msg_id: `cm-${ts}`,
      ...(spec.thread_ts ? { thread_ts: spec.thread_ts, parent_user_id: spec.parent_user_id ?? 'UPARENT' } : {}),
    };
    const message = envelope({ type: 'message', ...base, channel_type: channelType });
    const mentions = spec.text.includes(`<@${FAKE_SLACK.botUserId}>`) && channelType !== 'im';
    return { ts, message, ...(mentions ? { mention: envelope({ type: 'app_mention', ...base }) } : {}) };
  }

  function envelope(event: Record<string, any>, eventId?: string): Record<string, any> {
    return {
      token: 'verification-token-unused',
      team_id: FAKE_SLACK.teamId,
      api_app_id: 'AFAKEAPP1',
      event,
      type: 'event_callback',
      event_id: eventId ?? `Ev${String(++eventCounter).padStart(8, '0')}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: FAKE_SLACK.teamId, user_id: FAKE_SLACK.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
  }

  function command(spec: { user: string; channel: string; command: string; text?: string }): Record<string, string> {
    const id = `r${++eventCounter}`;
    return {
      token: 'verification-token-unused',
      team_id: FAKE_SLACK.teamId,
      team_domain: 'fake',
      channel_id: spec.channel,
      channel_name: spec.channel.startsWith('D') ? 'directmessage' : 'general',
      user_id: spec.user,
      user_name: `name-${spec.user}`,
      command: spec.command,
      text: spec.text ?? '',
      api_app_id: 'AFAKEAPP1',
      response_url: `${url}/response/${id}`,
      trigger_id: `trig.${id}.${Date.now()}`,
    };
  }

  async function deliver(target: string, body: Record<string, any>, o: DeliverOptions = {}): Promise<DeliveryAttempt[]> {
    const isCommand = typeof body.command === 'string' && body.type === undefined;
    const text = isCommand ? new URLSearchParams(body).toString() : JSON.stringify(body);
    const attempts: DeliveryAttempt[] = [];
    const delays = o.retryDelaysMs ?? [300, 1000, 3000];
    const maxAttempts = o.retries === false ? 1 : delays.length + 1;
    for (let i = 0; i < maxAttempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, delays[i - 1]));
      const retryNum = (o.retryNum ?? 0) + i;
      const ts = Math.floor(Date.now() / 1000) - (o.signature === 'stale' ? 301 : 0);
      const signature = o.signature === 'forged' ? slackSignature('not-the-signing-secret', ts, text) : slackSignature(FAKE_SLACK.signingSecret, ts, text);
      const headers: Record<string, string> = {
        'content-type': isCommand ? 'application/x-www-form-urlencoded' : 'application/json',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signature,
        ...(retryNum > 0 ? { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
      };
      const start = performance.now();
      const status = await fetch(target, { method: 'POST', headers, body: o.tamper ? o.tamper(text) : text, signal: AbortSignal.timeout(o.deadlineMs ?? 3000) })
        .then(async (r) => (await r.arrayBuffer(), r.status))
        .catch(() => 0);
      const attempt = { status, ms: performance.now() - start, retryNum };
      attempts.push(attempt);
      o.onAttempt?.(attempt);
      if (status >= 200 && status < 300) break;
      if (status === 401 || status === 404 || status === 400) break;
    }
    return attempts;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    apiUrl: `${url}/api/`,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    messages: (channel) => [...(channels.get(channel) ?? [])],
    botMessages: (channel) => (channel === undefined ? [...channels.values()].flat() : (channels.get(channel) ?? [])).filter((m) => m.user === FAKE_SLACK.botUserId),
    deleted,
    reactions: (channel, ts) => [...(reactionsByMessage.get(`${channel}:${ts}`) ?? [])],
    responses,
    failNext(method, failure, times = 1) {
      failures.set(method, [...(failures.get(method) ?? []), ...Array.from({ length: times }, () => failure)]);
    },
    revokeToken: () => void (revoked = true),
    get scopes() {
      return scopes;
    },
    set scopes(v: string[]) {
      scopes = v;
    },
    nextTs,
    userSays,
    envelope,
    command,
    deliver,
    socket,
    close() {
      closed ??= (async () => {
        await socket.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
}

function readRaw(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** WebClient posts form-encoded fields (objects JSON-encoded); some clients post JSON. */
function parseParams(raw: string, contentType: string): Record<string, any> {
  if (raw === '') return {};
  if (contentType.includes('application/json')) return JSON.parse(raw) as Record<string, any>;
  const out: Record<string, any> = {};
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  return out;
}
