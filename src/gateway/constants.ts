/**
 * Gateway constants: the bot id and platform every web message carries, fixed timings, and the
 * close-code table (code → why the server closed, so clients can decide whether to reconnect).
 */
export { GATEWAY_BOT_ID, WEB_PLATFORM } from '../core/session-key.js';
/** The environment variable holding the gateway's token-signing secret. */
export const SECRET_ENV = 'BOTHOST_GATEWAY_SECRET';
/** The identity of a token-less loopback client when `allow_loopback_without_auth` is on. */
export const LOOPBACK_IDENTITY = 'local';

export const GATEWAY_TIMINGS = Object.freeze({
  /** WebSocket ping to detect dead peers; a peer that missed one pong is dropped. */
  pingIntervalMs: 30_000,
  /** While a session has a turn in flight, read its log this often (covers missed notices). */
  pollIntervalMs: 1_000,
  /** A connection that is neither loopback-trusted nor token-authenticated must join with a token within this. */
  authDeadlineMs: 10_000,
  /** Frames per second one connection may send before it is closed as flooding (burst 2×). */
  framesPerSecond: 50,
  /** New sessions one identity may create (each is stored): sustained per minute, and burst. */
  newSessionsPerMinute: 60,
  newSessionsBurst: 200,
  /** Longest client-chosen session id (in code points) and message id. */
  maxSessionIdChars: 256,
  maxClientIdChars: 64,
  /** Longest session title (`rename_session`; a first message is clipped to it). */
  maxTitleChars: 120,
  /** Replay reads this many entries at a time (memory per replaying client: one page). */
  replayPage: 32,
  /** Replay page reads running at once across all connections (the rest queue). */
  replayReadsInFlight: 2,
  /** Joins and messages doing store work at once across all connections (the rest queue). */
  storeWorkInFlight: 16,
  /** A join or message whose store work takes longer is answered `unavailable` (Redis down). */
  storeWorkTimeoutMs: 8_000,
  /** The retry_after_ms of an `unavailable` error. */
  unavailableRetryMs: 3_000,
  /** How long a replay waits for a slow reader to drain before cutting it off. */
  replayDrainTimeoutMs: 15_000,
});

/** Close codes the gateway uses, and what a client should do about each. */
export const CLOSE = Object.freeze({
  /** 1001: the gateway is shutting down or restarting: reconnect with `since`. */
  goingAway: { code: 1001, reason: 'gateway shutting down; reconnect with since' },
  /** 1008: too many frames per second from this connection: back off before reconnecting. */
  flooding: { code: 1008, reason: 'too many frames; slow down' },
  /** 1013: this client did not read fast enough (slow consumer): reconnect with since. */
  slowConsumer: { code: 1013, reason: 'slow consumer: too much unread data; reconnect with since' },
  /** 4000: no frame from the client for gateway.session.timeout seconds: the session is detached, resumable. */
  idle: { code: 4000, reason: 'idle timeout; the session stays resumable' },
  /** 4001: no valid token: do not reconnect without one. */
  unauthorized: { code: 4001, reason: 'unauthorized' },
} as const);

/** Session metadata keys the gateway owns. One top-level key per fact so shallow merges never race. */
export const META = Object.freeze({
  owner: 'gw.owner',
  agent: 'gw.agent',
  /** The client's session id (the key is its escaped form). */
  sessionId: 'gw.session_id',
  /** Last time a client was attached (ms): the resume window counts from here. */
  seenAt: 'gw.seen_at',
  /** Id of the message whose turn is running (is_executing), or absent. */
  executing: 'gw.executing',
  /** The session's title: set by `rename_session`, else the start of its first message. */
  title: 'gw.title',
  /** Prefix of one key per accepted-but-unanswered message (pending_inbox). */
  pendingPrefix: 'gw.pending.',
});
