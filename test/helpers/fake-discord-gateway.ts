/**
 * The gateway half of the fake Discord: a WebSocket server speaking gateway v10 in plain JSON
 * (no compression), so the real discord.js (`@discordjs/ws`) connects to it unmodified.
 *
 * - HELLO on connect; heartbeats (op 1) are ACKed (op 11) unless `ackHeartbeats` is off.
 * - IDENTIFY (op 2): a wrong token closes 4004; privileged intents (Message Content) while the
 *   fake's "portal switch" is off close 4014; `identifyClose` closes with any code. Otherwise
 *   READY (with `resume_gateway_url`, one unavailable guild) then GUILD_CREATE.
 * - RESUME (op 6): replays every event after the client's `seq` (plus `resumeOverlap` already
 *   delivered ones, to imitate an at-least-once overlap), then RESUMED; an unknown session gets
 *   INVALID_SESSION (op 9, not resumable).
 * - Every dispatch goes to every live or resumable session, numbered per session; a session is
 *   dropped when its client closes with 1000/1001 (discord.js does so on destroy).
 * - Without the Message Content intent, guild messages that do not mention the bot arrive with
 *   empty content, as on Discord.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { APPLICATION_ID, BOT_USER, GUILD_ID, guildCreate, INTENTS, PRIVILEGED_INTENTS } from './fake-discord-payloads.js';

interface LoggedEvent {
  s: number;
  t: string;
  d: Record<string, unknown>;
}

interface GatewaySession {
  id: string;
  seq: number;
  intents: number;
  log: LoggedEvent[];
  ws?: WebSocket;
  /** READY/RESUMED sent on the current socket: live dispatches may flow. */
  streaming: boolean;
}

/** What a test can observe and steer on the gateway. */
export interface FakeGatewayControl {
  /** IDENTIFY payloads received (the token replaced by `token ok` / `token wrong`). */
  readonly identifies: number;
  readonly resumes: number;
  /** WebSocket connections opened so far. */
  readonly connections: number;
  /** When each connection was opened (ms since epoch). */
  readonly connectionTimes: readonly number[];
  /** Most sessions ever streaming at the same instant (one bot token: should stay 1). */
  readonly maxStreaming: number;
  /** Sessions streaming now. */
  readonly streaming: number;
  /** Close codes the fake sent. */
  readonly closeCodes: readonly number[];
  /** Intents of the last IDENTIFY. */
  readonly lastIntents: number | undefined;
  /** Whether the Message Content intent is switched on in the "developer portal" (default true). */
  privilegedIntentsEnabled: boolean;
  /** Close every IDENTIFY with this code (e.g. 4004) while set. */
  identifyClose: number | undefined;
  /** Already delivered events replayed again on RESUME. */
  resumeOverlap: number;
  ackHeartbeats: boolean;
  /** Dispatch an event to every session; resolves how many sessions got it queued. */
  dispatch(t: string, d: Record<string, unknown>): number;
  /** Close every open gateway socket with `code` (4000: discord.js resumes). */
  closeAll(code: number, reason?: string): void;
  /** Stop accepting connections (each new one is closed at once with 1011) while true. */
  refuseConnections: boolean;
}

export interface FakeGateway extends FakeGatewayControl {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

export function createFakeGateway(options: { token: string; url: () => string; heartbeatIntervalMs: number }): FakeGateway {
  const wss = new WebSocketServer({ noServer: true });
  const sessions = new Map<string, GatewaySession>();
  const closeCodes: number[] = [];
  let identifies = 0;
  let resumes = 0;
  let connections = 0;
  let maxStreaming = 0;
  let lastIntents: number | undefined;
  let sessionCounter = 0;

  const streamingCount = () => [...sessions.values()].filter((s) => s.streaming && s.ws?.readyState === WebSocket.OPEN).length;
  const markStreaming = (s: GatewaySession) => {
    s.streaming = true;
    maxStreaming = Math.max(maxStreaming, streamingCount());
  };

  const sendOp = (ws: WebSocket, payload: Record<string, unknown>) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  };
  const closeWith = (ws: WebSocket, code: number, reason = '') => {
    closeCodes.push(code);
    ws.close(code, reason);
  };

  function append(session: GatewaySession, t: string, d: Record<string, unknown>): LoggedEvent {
    const event = { s: ++session.seq, t, d };
    session.log.push(event);
    if (session.log.length > 2000) session.log.splice(0, session.log.length - 2000);
    return event;
  }

  function deliver(session: GatewaySession, event: LoggedEvent) {
    if (session.ws && session.streaming) sendOp(session.ws, { op: 0, s: event.s, t: event.t, d: event.d });
  }

  /** What this session's intents let through (Discord filters by intents). */
  function visible(session: GatewaySession, t: string, d: Record<string, unknown>): Record<string, unknown> | null {
    if (t !== 'MESSAGE_CREATE') return d;
    const inGuild = typeof d.guild_id === 'string';
    if (!(session.intents & (inGuild ? INTENTS.GuildMessages : INTENTS.DirectMessages))) return null;
    const mentioned = Array.isArray(d.mentions) && d.mentions.some((u: { id?: string }) => u.id === BOT_USER.id);
    const own = (d.author as { id?: string })?.id === BOT_USER.id;
    if (inGuild && !own && !mentioned && !(session.intents & INTENTS.MessageContent)) return { ...d, content: '' };
    return d;
  }

  function identify(ws: WebSocket, d: { token?: string; intents?: number }) {
    identifies++;
    lastIntents = d.intents;
    if (control.identifyClose !== undefined) return closeWith(ws, control.identifyClose, 'closed by test');
    if (d.token !== options.token) return closeWith(ws, 4004, 'Authentication failed.');
    if (!control.privilegedIntentsEnabled && ((d.intents ?? 0) & PRIVILEGED_INTENTS)) return closeWith(ws, 4014, 'Disallowed intent(s).');
    const session: GatewaySession = { id: `fake-session-${++sessionCounter}`, seq: 0, intents: d.intents ?? 0, log: [], ws, streaming: false };
    sessions.set(session.id, session);
    socketSession.set(ws, session);
    markStreaming(session);
    const ready = append(session, 'READY', {
      v: 10,
      user_settings: {},
      user: { ...BOT_USER, verified: true, mfa_enabled: false, flags: 0, email: null },
      guilds: [{ id: GUILD_ID, unavailable: true }],
      session_id: session.id,
      resume_gateway_url: options.url(),
      shard: [0, 1],
      application: { id: APPLICATION_ID, flags: 1 << 23 },
      private_channels: [],
      relationships: [],
      presences: [],
      geo_ordered_rtc_regions: [],
      guild_join_requests: [],
    });
    deliver(session, ready);
    if (session.intents & INTENTS.Guilds) deliver(session, append(session, 'GUILD_CREATE', guildCreate()));
  }

  function resume(ws: WebSocket, d: { token?: string; session_id?: string; seq?: number }) {
    resumes++;
    const session = d.session_id ? sessions.get(d.session_id) : undefined;
    if (d.token !== options.token) return closeWith(ws, 4004, 'Authentication failed.');
    if (!session || typeof d.seq !== 'number' || d.seq > session.seq) {
      sendOp(ws, { op: 9, d: false });
      return;
    }
    if (session.ws && session.ws !== ws && session.ws.readyState === WebSocket.OPEN) closeWith(session.ws, 4000, 'session resumed elsewhere');
    session.ws = ws;
    socketSession.set(ws, session);
    markStreaming(session);
    const from = Math.max(0, d.seq - control.resumeOverlap);
    for (const event of session.log) if (event.s > from) deliver(session, event);
    deliver(session, append(session, 'RESUMED', {}));
  }

  const socketSession = new WeakMap<WebSocket, GatewaySession>();

  const connectionTimes: number[] = [];
  wss.on('connection', (ws: WebSocket) => {
    connections++;
    connectionTimes.push(Date.now());
    if (control.refuseConnections) return closeWith(ws, 1011, 'refusing connections');
    sendOp(ws, { op: 10, d: { heartbeat_interval: options.heartbeatIntervalMs } });
    ws.on('message', (raw) => {
      let payload: { op?: number; d?: any };
      try {
        payload = JSON.parse(String(raw)) as { op?: number; d?: any };
      } catch {
        return closeWith(ws, 4002, 'Error while decoding payload.');
      }
      switch (payload.op) {
        case 1:
          if (control.ackHeartbeats) sendOp(ws, { op: 11 });
          return;
        case 2:
          if (socketSession.has(ws)) return closeWith(ws, 4005, 'Already authenticated.');
          return identify(ws, payload.d ?? {});
        case 6:
          return resume(ws, payload.d ?? {});
        case 3:
        case 4:
        case 8:
          return;
        default:
          return closeWith(ws, 4001, 'Unknown opcode.');
      }
    });
    ws.on('close', (code) => {
      const session = socketSession.get(ws);
      if (!session || session.ws !== ws) return;
      session.ws = undefined;
      session.streaming = false;
      // A normal close ends the session on Discord; anything else leaves it resumable.
      if (code === 1000 || code === 1001) sessions.delete(session.id);
    });
  });

  const control: FakeGateway = {
    get identifies() {
      return identifies;
    },
    get resumes() {
      return resumes;
    },
    get connections() {
      return connections;
    },
    get connectionTimes() {
      return connectionTimes;
    },
    get maxStreaming() {
      return maxStreaming;
    },
    get streaming() {
      return streamingCount();
    },
    get closeCodes() {
      return closeCodes;
    },
    get lastIntents() {
      return lastIntents;
    },
    privilegedIntentsEnabled: true,
    identifyClose: undefined,
    resumeOverlap: 0,
    ackHeartbeats: true,
    refuseConnections: false,
    dispatch(t, d) {
      let n = 0;
      for (const session of sessions.values()) {
        const shown = visible(session, t, d);
        if (!shown) continue;
        deliver(session, append(session, t, shown));
        n++;
      }
      return n;
    },
    closeAll(code, reason = 'closed by test') {
      for (const ws of wss.clients) closeWith(ws, code, reason);
    },
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
  return control;
}
