/**
 * Who is on the other end of a connection. Three ways in:
 * - a static token from `gateway.auth.tokens` (identity → token);
 * - a token minted by `bot gateway token <identity>`: `bh1.<identity>.<expiry>.<HMAC-SHA256>`,
 *   signed with `gateway.auth.secret` (or $BOTHOST_GATEWAY_SECRET), checked for expiry;
 * - nothing, from a loopback address, when `allow_loopback_without_auth` is on, the Host header
 *   names the loopback interface itself with the gateway's port (`127.0.0.1`, `[::1]`,
 *   `localhost`), and any Origin is that same origin: identity `local`. A Host naming anything
 *   else (a DNS-rebinding page's own name, even one resolving to 127.0.0.1) needs a token.
 * Tokens are compared in constant time and never logged.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BotHostError, ConfigError } from '../core/errors.js';
import { MAX_TOKEN_TTL_SECONDS } from '../config/defaults.js';
import type { GatewayConfig } from '../config/schema.js';
import { LOOPBACK_IDENTITY, SECRET_ENV } from './constants.js';

export const IDENTITY_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
const MINTED = /^bh1\.([A-Za-z0-9_-]+)\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
export { SECRET_ENV } from './constants.js';

export type AuthResult = { ok: true; identity: string } | { ok: false; reason: string };

export interface Authenticator {
  /** Check a token from a header, query or join frame. */
  verify(token: string): AuthResult;
  /** The identity a token-less request gets, or null when it must present a token. */
  trustedWithoutToken(req: IncomingMessage): string | null;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const sign = (secret: string, payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');

export function gatewaySecret(config: GatewayConfig, env: Record<string, string | undefined>): string | undefined {
  const secret = config.auth.secret ?? env[SECRET_ENV];
  return secret && secret.length > 0 ? secret : undefined;
}

/** A listen address only this machine can reach: 127.x, ::1, localhost. */
export function isLoopbackListenAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** Static tokens or a signing secret: some client can present a token. */
export function gatewayAuthConfigured(config: GatewayConfig, env: Record<string, string | undefined>): boolean {
  return Object.keys(config.auth.tokens).length > 0 || gatewaySecret(config, env) !== undefined;
}

/**
 * A gateway listening beyond loopback with no tokens and no secret serves a page nobody can use
 * (every client off this machine needs a token): refused at start-up with what to set.
 */
export function assertGatewayUsable(config: GatewayConfig, listenHost: string, env: Record<string, string | undefined>): void {
  if (isLoopbackListenAddress(listenHost) || gatewayAuthConfigured(config, env)) return;
  throw new ConfigError(
    `the gateway would listen on ${listenHost} with no auth configured, so no client could sign in: set ${SECRET_ENV} (16+ random characters) and mint tokens with \`bot gateway token <name>\`, or set gateway.auth.tokens, or listen on 127.0.0.1`,
    'gateway.auth',
  );
}

/** A signed token for `identity`, valid for `ttlSeconds`. */
export function mintToken(secret: string, identity: string, ttlSeconds: number, now = Date.now()): string {
  if (!IDENTITY_PATTERN.test(identity)) throw new BotHostError('INVALID_IDENTITY', `identity "${identity}" must be 1-64 letters, digits or . _ @ -`);
  if (identity === LOOPBACK_IDENTITY) throw new BotHostError('INVALID_IDENTITY', `"${LOOPBACK_IDENTITY}" is reserved for token-less loopback clients; pick another identity`);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw new BotHostError('INVALID_TTL', `a token's lifetime must be a whole number of seconds, at least 1 (got ${ttlSeconds})`);
  if (ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new BotHostError('INVALID_TTL', `a token's lifetime can be at most ${MAX_TOKEN_TTL_SECONDS} seconds (10 years); got ${ttlSeconds}`);
  }
  const payload = `bh1.${Buffer.from(identity).toString('base64url')}.${Math.floor(now / 1000) + ttlSeconds}`;
  return `${payload}.${sign(secret, payload)}`;
}

export function createAuthenticator(config: GatewayConfig, env: Record<string, string | undefined> = process.env): Authenticator {
  if (Object.hasOwn(config.auth.tokens, LOOPBACK_IDENTITY)) {
    throw new ConfigError(`"${LOOPBACK_IDENTITY}" is reserved for token-less loopback clients; rename that identity`, `gateway.auth.tokens.${LOOPBACK_IDENTITY}`);
  }
  const statics = Object.entries(config.auth.tokens).map(([identity, token]) => ({ identity, hash: digest(token) }));
  const secret = gatewaySecret(config, env);

  const verifyMinted = (token: string): AuthResult => {
    const m = MINTED.exec(token);
    if (!m || !secret) return { ok: false, reason: 'invalid token' };
    const payload = token.slice(0, token.lastIndexOf('.'));
    if (!timingSafeEqual(digest(sign(secret, payload)), digest(m[3]!))) return { ok: false, reason: 'invalid token' };
    if (Number(m[2]) * 1000 <= Date.now()) return { ok: false, reason: 'token expired; mint a new one with `bot gateway token <identity>`' };
    const identity = Buffer.from(m[1]!, 'base64url').toString('utf8');
    if (!IDENTITY_PATTERN.test(identity) || identity === LOOPBACK_IDENTITY) return { ok: false, reason: 'invalid token' };
    return { ok: true, identity };
  };

  return {
    verify(token) {
      const h = digest(token);
      let found: string | undefined;
      // Every configured token is compared, so timing does not tell which one was close.
      for (const s of statics) if (timingSafeEqual(h, s.hash) && found === undefined) found = s.identity;
      if (found !== undefined) return { ok: true, identity: found };
      return verifyMinted(token);
    },
    trustedWithoutToken(req) {
      if (!config.allow_loopback_without_auth || !isLoopback(req.socket.remoteAddress)) return null;
      const host = req.headers.host;
      if (host === undefined || !isLoopbackHost(host, req.socket.localPort)) return null;
      // A page on another origin must not ride on the exemption (cross-site WebSocket hijacking).
      const origin = req.headers.origin;
      if (origin !== undefined && origin.toLowerCase() !== `http://${host.toLowerCase()}`) return null;
      return LOOPBACK_IDENTITY;
    },
  };
}

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * A Host header naming this machine's loopback interface on `port`: the hostname is one of
 * 127.0.0.1, [::1], localhost (any case), and the port is explicit (or omitted only on port 80).
 * Anything a DNS name could resolve to is not enough: the name itself must be loopback.
 */
export function isLoopbackHost(host: string, port: number | undefined): boolean {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host.toLowerCase());
  if (!m || !LOOPBACK_HOSTNAMES.has(m[1]!)) return false;
  const given = m[2] === undefined ? 80 : Number(m[2]);
  return port !== undefined && given === port && (m[2] === undefined || m[2] === String(port));
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** A token from `Authorization: Bearer …` or `?token=` (browsers cannot set headers on WebSockets). */
export function tokenFromRequest(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}
