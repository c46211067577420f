/**
 * How many WebSocket connections this process can really hold: `gateway.limits.max_connections`,
 * lowered to fit the open-file limit (RLIMIT_NOFILE), with headroom for what else needs file
 * descriptors (the session store's files or pool, Redis connections, the listening socket,
 * logs). Past the cap the gateway answers 503 at upgrade, instead of accepting sockets until the
 * store fails with EMFILE for every user.
 */
import { readFileSync } from 'node:fs';

/**
 * Descriptors kept free for everything but client sockets: a fixed part (the process itself,
 * the listening socket, Redis or Postgres connections, and the store work the gateway lets run
 * at once, `storeWorkInFlight` × a few files) plus a share of the limit.
 */
export const FD_HEADROOM = Object.freeze({ fixed: 128, share: 0.1 });

/**
 * The soft open-file limit of this process, or null where it cannot be read. Node has no
 * getrlimit; on Linux /proc/self/limits has it ("Max open files  <soft>  <hard>  files").
 */
export function openFileLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return null;
  return Number(m[1]);
}

export interface ConnectionCap {
  /** Connections the gateway accepts. */
  max: number;
  /**
   * Set when the open-file limit cut `max_connections` to less than half: a line for the operator.
   * A smaller cut (the usual 20 000 default against a 20 000 limit) is silent: it changes nothing
   * a new user should act on.
   */
  notice?: string;
}

export function connectionCap(configured: number, fdLimit: number | null): ConnectionCap {
  if (fdLimit === null) return { max: configured };
  const usable = Math.floor(fdLimit - FD_HEADROOM.fixed - fdLimit * FD_HEADROOM.share);
  if (usable >= configured) return { max: configured };
  const max = Math.max(1, usable);
  if (max >= configured / 2) return { max };
  return {
    max,
    notice:
      `accepting at most ${max} connections (gateway.limits.max_connections is ${configured}, but the open-file limit ` +
      `is ${fdLimit} and the store and Redis need some): raise it with \`ulimit -n\` (or LimitNOFILE= in systemd) to allow more`,
  };
}
