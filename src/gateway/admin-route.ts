/**
 * `/admin` on the gateway's server when bots.yaml `admin.enabled`: the pages (src/gateway/admin/) and
 * their dependencies (express, Bull Board) are imported on the first `/admin` request only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Host } from '../host/host.js';
import type { AdminApp } from './admin/admin-app.js';
import type { Authenticator } from './auth.js';

export interface AdminRoute {
  matches(path: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

export function adminRoute(host: Host, auth: Authenticator, logger: Logger): AdminRoute | undefined {
  const config = host.config.admin;
  if (!config.enabled) return undefined;
  if (config.identities.length === 0) logger.warn('admin.enabled but admin.identities is empty: nobody can open /admin/');
  let app: Promise<AdminApp> | undefined;
  const load = () =>
    (app ??= import('./admin/admin-app.js').then((m) =>
      m.createAdminApp({
        auth,
        identities: config.identities,
        ...(host.config.queue.backend === 'bullmq' && host.queueRedis ? { queue: { redis: host.queueRedis, prefix: host.config.store.prefix, queueName: host.config.queue.name } } : {}),
        log: (line, fields) => logger.info(fields ?? {}, line),
      }),
    ));
  return {
    matches: (path) => path === '/admin' || path.startsWith('/admin/'),
    serve(req, res) {
      load().then(
        (a) => a.handle(req, res),
        (err: Error) => {
          logger.error({ err: err.message }, 'admin pages failed to load');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('the admin pages failed to load; see the gateway log');
        },
      );
    },
    async close() {
      await (await app?.catch(() => undefined))?.close();
    },
  };
}
