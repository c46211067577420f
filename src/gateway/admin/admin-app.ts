/**
 * The gateway's `/admin/` pages, an express app (a plain node request handler) built on the
 * first `/admin` request when `admin.enabled`:
 *
 *   GET  /admin/login, POST /admin/login   a token form; sets the HttpOnly, SameSite=Strict cookie
 *   POST /admin/logout
 *   GET  /admin/                            stuck sessions and dead letters (distributed mode), or
 *                                           a note that embedded mode has no queue to show
 *   POST /admin/dead-letters/retry          retry one dead letter (exactly once), back to /admin/
 *   /admin/queues/…                         Bull Board on the kick queue, read-only
 *
 * Every route but the login form needs a listed identity (admin-auth.ts); every POST must come
 * from the same origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Authenticator } from '../auth.js';
import { listDeadLetters, pickDeadLetter, retryDeadLetter } from '../../queue/dead-letters.js';
import { isQueueDraining } from '../../queue/queue-drain.js';
import { listStuckSessions } from '../../queue/stuck-sessions.js';
import { adminTokenOf, checkAdminToken, clearedCookie, isSameOrigin, sessionCookie } from './admin-auth.js';
import { ADMIN_CSP, embeddedPage, loginPage, overviewPage, page, esc } from './admin-html.js';

export interface AdminAppOptions {
  auth: Authenticator;
  identities: readonly string[];
  /** The queue's Redis in distributed mode; absent in embedded mode. */
  queue?: { redis: Redis; prefix: string; queueName: string };
  /** Warnings and retries for the operator's log. */
  log: (line: string, fields?: Record<string, unknown>) => void;
}

export interface AdminApp {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

const html = (res: Response, status: number, body: string) => {
  res.status(status).set({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': ADMIN_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' }).send(body);
};

export async function createAdminApp(options: AdminAppOptions): Promise<AdminApp> {
  const app = express();
  app.disable('x-powered-by');
  const closers: Array<() => Promise<void>> = [];

  app.get('/admin/login', (_req, res) => html(res, 200, loginPage()));
  app.post('/admin/login', express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => {
    if (!isSameOrigin(req)) return html(res, 403, page('refused', '<p>Refused: the form must be posted from this page.</p>'));
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : undefined;
    const access = checkAdminToken(token || undefined, options.auth, options.identities);
    if (!access.ok) {
      options.log('admin sign-in refused', { reason: access.reason });
      return html(res, access.status, loginPage(access.reason));
    }
    res.setHeader('set-cookie', sessionCookie(token!, req.secure));
    res.redirect(303, '/admin/');
  });

  // Everything below needs a listed identity.
  app.use('/admin', (req: Request, res: Response, next: NextFunction) => {
    const access = checkAdminToken(adminTokenOf(req), options.auth, options.identities);
    if (access.ok) {
      res.locals.identity = access.identity;
      return next();
    }
    if (req.accepts(['html', 'json']) === 'html' && req.method === 'GET') return html(res, access.status, loginPage(adminTokenOf(req) === undefined ? undefined : access.reason));
    res.status(access.status).json({ error: access.reason });
  });
  app.use('/admin', (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'POST' && !isSameOrigin(req)) return res.status(403).json({ error: 'cross-origin request refused' });
    next();
  });

  app.post('/admin/logout', (_req, res) => {
    res.setHeader('set-cookie', clearedCookie);
    res.redirect(303, '/admin/login');
  });

  const q = options.queue;
  if (!q) {
    app.get(['/admin', '/admin/'], (_req, res) => html(res, 200, embeddedPage(String(res.locals.identity))));
    app.use('/admin/queues', (_req, res) => html(res, 404, embeddedPage(String(res.locals.identity))));
  } else {
    app.get(['/admin', '/admin/'], async (req, res, next) => {
      try {
        // `?min_age=<seconds>`: what counts as stuck, as `bot queue sessions --stuck --min-age`.
        const minAge = Number(req.query.min_age);
        const stuckOptions = typeof req.query.min_age === 'string' && Number.isFinite(minAge) && minAge >= 0 ? { minAgeMs: minAge * 1000 } : {};
        const [stuck, deadLetters, draining] = await Promise.all([listStuckSessions(q.redis, q.prefix, stuckOptions), listDeadLetters(q.redis, q.prefix), isQueueDraining(q)]);
        const done = typeof req.query.retried === 'string' ? { text: `queued ${req.query.retried} again as a new turn of its session`, error: false } : undefined;
        const failed = typeof req.query.error === 'string' ? { text: req.query.error, error: true } : undefined;
        const notice = done ?? failed;
        html(res, 200, overviewPage({ identity: String(res.locals.identity), queueName: q.queueName, draining, stuck, deadLetters, ...(notice ? { notice } : {}) }));
      } catch (err) {
        next(err);
      }
    });
    app.post('/admin/dead-letters/retry', express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
      const inboundId = typeof req.body?.inboundId === 'string' ? req.body.inboundId : '';
      try {
        const chosen = pickDeadLetter(await listDeadLetters(q.redis, q.prefix), inboundId);
        await retryDeadLetter(q, chosen);
        options.log(`dead letter ${chosen.record.inboundId} retried from /admin/`, { identity: res.locals.identity, session: chosen.record.sessionId });
        res.redirect(303, `/admin/?retried=${encodeURIComponent(chosen.record.inboundId)}`);
      } catch (err) {
        res.redirect(303, `/admin/?error=${encodeURIComponent((err as Error).message)}`);
      }
    });
    const board = await mountBullBoard(q);
    app.use('/admin/queues', board.router);
    closers.push(board.close);
  }

  app.use((_req: Request, res: Response) => res.status(404).json({ error: 'not found' }));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    options.log('admin page failed', { err: err.message });
    html(res, 500, page('error', `<p class="note err">The admin page failed: ${esc(err.message)}</p>`));
  });

  return {
    handle: (req, res) => app(req as Request, res as Response),
    async close() {
      for (const c of closers.splice(0)) await c();
    },
  };
}

/** Bull Board on the kick queue, read-only: kick jobs are the queue's own bookkeeping, not for editing by hand. */
async function mountBullBoard(q: { redis: Redis; prefix: string; queueName: string }) {
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }, { Queue }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/express'),
    import('bullmq'),
  ]);
  const connection = q.redis.duplicate();
  connection.on('error', () => undefined);
  const queue = new Queue(q.queueName, { connection, prefix: `${q.prefix}:bull` });
  queue.on('error', () => undefined);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({ queues: [new BullMQAdapter(queue, { readOnlyMode: true })], serverAdapter, options: { uiConfig: { boardTitle: 'bothost queue' } } });
  return {
    router: serverAdapter.getRouter() as express.Router,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
