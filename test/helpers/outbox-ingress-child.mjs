// An ingress process for the outbox tests: the product's own wiring (openIngressQueue with a
// DeliveryRouter) from the COMPILED build (`npm run build` first), with one bot whose Delivery
// sends each reply to a fake platform over HTTP, as an adapter's sendMessage would.
//
//   node outbox-ingress-child.mjs '<json args>'
//     args: { redisUrl, prefix, queueName, botId, platformUrl, claimIdleMs, name }
//
// stdout, one JSON line per event (synchronous to a pipe on Linux, so a line the parent read was
// written before any later kill): {"ready":…} once consuming, then every outbox event.
import { connectRedis } from '../../dist/src/redis/redis-connection.js';
import { openIngressQueue } from '../../dist/src/host/distributed.js';
import { DeliveryRouter } from '../../dist/src/host/delivery-router.js';

const args = JSON.parse(process.argv[2] ?? '{}');
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const client = connectRedis(args.redisUrl);
const router = new DeliveryRouter();
const send = async (body) => {
  const res = await fetch(args.platformUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, by: args.name }) });
  if (!res.ok) throw new Error(`platform answered ${res.status}`);
};
router.register(args.botId, {
  final: (r) => send({ kind: 'final', messageId: r.request.inbound.messageId, sessionId: r.request.sessionId, text: r.reply }),
  failed: (req, message) => send({ kind: 'failed', messageId: req.inbound.messageId, sessionId: req.sessionId, text: message }),
});
const config = { store: { prefix: args.prefix }, queue: { name: args.queueName } };
const ingress = await openIngressQueue(config, client, router, {
  consumer: { claimIdleMs: args.claimIdleMs, consumer: args.name },
  onEvent: (e) => out({ event: e.type, ...(e.inboundId ? { inboundId: e.inboundId } : {}), ...(e.count ? { count: e.count } : {}), ...(e.error ? { error: String(e.error?.message ?? e.error) } : {}) }),
});
await router.ready();
out({ ready: args.name, pid: process.pid });

process.on('SIGTERM', async () => {
  await ingress.close();
  client.disconnect();
  out({ stopped: args.name });
  process.exit(0);
});
