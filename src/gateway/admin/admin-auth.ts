/**
 * Who may use `/admin/`: a request carrying a gateway token (`Authorization: Bearer …`, or the
 * `bothost_admin` cookie the login form sets) whose identity is in `admin.identities`. The
 * token-less loopback exemption of the web chat does not apply here.
 *
 * State-changing requests (login, retry, logout) must also come from the page's own origin: the
 * `Origin` header (or, without one, `Referer`) must name the Host the request was sent to. With
 * the cookie being `SameSite=Strict`, another site can neither read the pages nor post to them.
 */
import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../auth.js';

export const ADMIN_COOKIE = 'bothost_admin';

export type AdminAccess = { ok: true; identity: string } | { ok: false; status: 401 | 403; reason: string };

export function adminTokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return cookie(req, ADMIN_COOKIE);
}

export function checkAdminToken(token: string | undefined, auth: Authenticator, identities: readonly string[]): AdminAccess {
  if (token === undefined) return { ok: false, status: 401, reason: 'sign in with a gateway token whose identity is listed in admin.identities' };
  const verdict = auth.verify(token);
  if (!verdict.ok) return { ok: false, status: 401, reason: verdict.reason };
  if (!identities.includes(verdict.identity)) return { ok: false, status: 403, reason: `identity "${verdict.identity}" is not listed in admin.identities` };
  return { ok: true, identity: verdict.identity };
}

/** The request's Origin (or Referer's origin) is the origin of the Host it was sent to. */
export function isSameOrigin(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  let origin = req.headers.origin;
  if (origin === undefined && req.headers.referer) {
    try {
      origin = new URL(req.headers.referer).origin;
    } catch {
      return false;
    }
  }
  if (origin === undefined || origin === 'null') return false;
  const expected = host.toLowerCase();
  return origin.toLowerCase() === `http://${expected}` || origin.toLowerCase() === `https://${expected}`;
}

export function sessionCookie(token: string, secure: boolean): string {
  return `${ADMIN_COOKIE}=${encodeURIComponent(token)}; Path=/admin; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export const clearedCookie = `${ADMIN_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`;

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
