/**
 * One HTTP request to a model endpoint over `node:http(s)`, with one keep-alive connection pool
 * per process. Node's global `fetch` (undici, web streams) costs several times the CPU per call,
 * which a worker holding thousands of slow model calls pays per turn; this returns Node's own
 * response stream.
 *
 * Failures look like `fetch`'s, so the error mapping (model-errors.ts) reads them the same way:
 * no connection → `TypeError('fetch failed', { cause })` (the cause carries the code, e.g.
 * ECONNREFUSED); an abort → the signal's reason as an `AbortError`. A request whose reused
 * keep-alive connection the server had already closed (reset before any reply) is sent once more
 * on a fresh connection: the race every keep-alive client has.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { abortErrorFrom } from './abort.js';

/**
 * No per-origin cap on connections, busy or idle: a worker holds one per model call in flight,
 * as `fetch` does, and Node's default of 256 idle ones would close the rest after each burst of
 * answers, so the next turns reconnect. LIFO reuse keeps the busiest connections warm; idle ones
 * close when the server's `Keep-Alive: timeout` hint says, or when the server closes them.
 */
const POOL = { keepAlive: true, scheduling: 'lifo', maxFreeSockets: Infinity } as const;
const httpAgent = new http.Agent(POOL);
const httpsAgent = new https.Agent(POOL);

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/**
 * The response once its status and headers arrived; read its body to the end (or destroy it) so
 * the connection goes back to the pool. An abort of `signal` destroys the request and response.
 * Returns `detach` to stop following the signal once the body is read.
 */
export async function openRequest(url: URL, request: HttpRequest): Promise<{ response: IncomingMessage; detach: () => void }> {
  if (request.signal?.aborted) throw abortErrorFrom(request.signal);
  try {
    return await send(url, request, false);
  } catch (error) {
    if (error instanceof StaleConnection) return send(url, request, true);
    throw error;
  }
}

/** A reused keep-alive connection that the server had closed before the request reached it. */
class StaleConnection extends Error {}

function send(url: URL, request: HttpRequest, fresh: boolean): Promise<{ response: IncomingMessage; detach: () => void }> {
  const isHttps = url.protocol === 'https:';
  const { signal, body } = request;
  const headers = body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(url, {
      method: request.method,
      headers,
      // A retry after a stale connection opens its own (the pool could hand out another stale one).
      agent: fresh ? false : isHttps ? httpsAgent : httpAgent,
    });
    let answered = false;
    let ended = false;
    // No error passed to destroy: the caller reads the abort off the signal, and an error here
    // would also reach a socket that the pool already owns again.
    const onAbort = () => {
      if (!ended) req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const detach = () => signal?.removeEventListener('abort', onAbort);
    req.on('error', (error) => {
      if (answered) return; // the response stream reports it
      detach();
      if (signal?.aborted) reject(abortErrorFrom(signal));
      else if (req.reusedSocket && !fresh && isResetBeforeReply(error)) reject(new StaleConnection());
      else reject(new TypeError('fetch failed', { cause: error }));
    });
    req.once('response', (response) => {
      answered = true;
      // Read to its end, the connection is back in the pool: an abort must no longer touch it.
      response.once('end', () => {
        ended = true;
        detach();
      });
      resolve({ response, detach });
    });
    req.end(body);
  });
}

function isResetBeforeReply(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || error.message === 'socket hang up';
}
