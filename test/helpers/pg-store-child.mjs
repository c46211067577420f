// A child process for the Postgres store's multi-process tests (T19). It imports the COMPILED
// store (`npm run build` first) so it runs exactly what ships.
//
//   node pg-store-child.mjs <mode (ignored)> '<json args>'   args: { url, schema, session, planFile, first, step, inFlight }
//
// Opens its own store (its own pool, so it also races the others to migrate the schema), prints
// "ready", waits for "go" on stdin, commits plan[first], plan[first + step], … with `inFlight` commits at a time,
// prints one line per result, "r <index> <json>", then "done".
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PostgresSessionStore } from '../../dist/src/sessions/postgres-session-store.js';

const args = JSON.parse(process.argv[3] ?? '{}');
const plan = JSON.parse(readFileSync(args.planFile, 'utf8'));
const out = (line) => process.stdout.write(`${line}\n`);

const store = new PostgresSessionStore({ url: args.url, schema: args.schema, maxMessages: 100_000, poolSize: args.inFlight });
await store.open();
out('ready');
await new Promise((resolve) => {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => line.trim() === 'go' && (rl.close(), resolve()));
});
let next = args.first;
await Promise.all(
  Array.from({ length: args.inFlight }, async () => {
    while (next < plan.length) {
      const i = next;
      next += args.step;
      const p = plan[i];
      const res = await store.commitTurn(args.session, {
        inboundId: p.inboundId,
        ...(p.fence !== undefined ? { fence: p.fence } : {}),
        entries: [
          { role: 'user', content: `u:${p.inboundId}:${i}` },
          { role: 'assistant', content: `a:${p.inboundId}:${i}` },
        ],
      });
      out(`r ${i} ${JSON.stringify(res)}`);
    }
  }),
);
await store.close();
out('done');
