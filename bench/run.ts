/** `npm run bench`: every figure, a table at the end, one JSON line per figure as it is measured. */
import { benchAdapterOverhead } from './adapter-overhead.bench.js';
import { benchCli } from './cli.bench.js';
import { benchDiscord } from './discord.bench.js';
import { benchDistributed } from './distributed.bench.js';
import { benchFileStore } from './file-store.bench.js';
import { benchFork } from './fork.bench.js';
import { benchGateway } from './gateway.bench.js';
import { benchModelCall } from './model-call.bench.js';
import { benchOps } from './ops.bench.js';
import { Report } from './tools/report.js';
import { benchScale } from './scale.bench.js';
import { benchStores } from './stores.bench.js';
import { benchSlack } from './slack.bench.js';
import { benchSpool } from './spool.bench.js';
import { benchTelegram } from './telegram.bench.js';
import { benchWhatsApp } from './whatsapp.bench.js';

const report = new Report();
const only = process.argv[2];
const sections: Array<[string, (r: Report) => Promise<void>]> = [
  ['file-store', benchFileStore],
  ['distributed', benchDistributed],
  ['fork', benchFork],
  ['stores', benchStores],
  ['telegram', benchTelegram],
  ['whatsapp', benchWhatsApp],
  ['slack', benchSlack],
  ['discord', benchDiscord],
  ['adapter-overhead', benchAdapterOverhead],
  ['gateway', benchGateway],
  ['ops', benchOps],
  ['spool', benchSpool],
  ['cli', benchCli],
  ['scale', benchScale],
  ['model-call', benchModelCall],
];
for (const [name, fn] of sections) {
  if (only && only !== name) continue;
  process.stderr.write(`bench: ${name}…\n`);
  await fn(report);
}
process.stdout.write(`\n${report.table()}\n`);
