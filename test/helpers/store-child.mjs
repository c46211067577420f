// A child process for the file store's multi-process tests. It imports the COMPILED library
// (`npm run build` first) so it runs exactly what ships.
//
//   node store-child.mjs <mode> '<json args>'
//
// Modes (each prints one line per event on stdout; stdout to a pipe is synchronous on Linux, so a
// line the parent reads was written before any later kill):
//   append        wait for "go" on stdin, then addMessage `${tag}-${i}` for i < count; "done"
//   crash-writer  commitTurn a user+assistant pair per i from `start`, forever; "ack <i> <status> <cursor>"
//   critical      take the process lock `iterations` times, logging enter/exit lines to `log`
//   hold-lock     take the process lock, print "locked", then idle until killed
//   fill          addMessage until the store fails (run under `ulimit -f`) or `maxAppends`, report what happened
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { FileSessionStore } from '../../dist/src/index.js';
import { createProcessLock } from '../../dist/src/sessions/process-lock.js';

const [mode, rawArgs] = process.argv.slice(2);
const args = JSON.parse(rawArgs ?? '{}');
const out = (line) => process.stdout.write(`${line}\n`);
const logger = { warn: (m) => process.stderr.write(`warn ${m}\n`) };

function openStore() {
  return new FileSessionStore({
    dir: args.dir,
    maxMessages: args.maxMessages,
    logger,
    ...(args.lockTimeoutMs ? { lockTimeoutMs: args.lockTimeoutMs } : {}),
  });
}

function waitForGo() {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === 'go') {
        rl.close();
        resolve();
      }
    });
  });
}

async function append() {
  const store = openStore();
  out('ready');
  await waitForGo();
  for (let i = 0; i < args.count; i++) {
    const ok = await store.addMessage(args.session, 'user', `${args.tag}-${i}`);
    if (ok !== true) throw new Error(`addMessage returned ${ok}`);
  }
  out('done');
}

async function crashWriter() {
  const store = openStore();
  out('ready');
  for (let i = args.start; ; i++) {
    const id = `${args.prefix}-${i}`;
    const res = await store.commitTurn(args.session, {
      inboundId: id,
      entries: [
        { role: 'user', content: id },
        { role: 'assistant', content: `re ${id}` },
      ],
    });
    const cursor = res.status === 'committed' ? res.cursors[0] : res.status === 'duplicate' ? res.cursor : -1;
    out(`ack ${i} ${res.status} ${cursor}`);
  }
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function critical() {
  const lock = createProcessLock();
  for (let i = 0; i < args.iterations; i++) {
    const release = await lock.acquire(args.lockName, 30_000);
    appendFileSync(args.log, `enter ${args.id} ${i}\n`);
    // Stay inside long enough for a broken lock to show: yield to the event loop, sometimes sleep.
    await pause(i % 3 === 0 ? 1 : 0);
    appendFileSync(args.log, `exit ${args.id} ${i}\n`);
    await release();
  }
  out('done');
}

async function holdLock() {
  const lock = createProcessLock();
  await lock.acquire(args.lockName, 5_000);
  out('locked');
  setInterval(() => undefined, 1_000);
}

async function fill() {
  const store = openStore();
  const pad = 'x'.repeat(args.size);
  for (let i = 0; ; i++) {
    if (i >= (args.maxAppends ?? Infinity)) {
      out('no error');
      break;
    }
    try {
      await store.addMessage(args.session, 'user', `fill-${i} ${pad}`);
      out(`ack ${i}`);
    } catch (err) {
      out(`error ${JSON.stringify({ i, name: err?.name, code: err?.code, message: String(err?.message) })}`);
      break;
    }
  }
  const history = await store.getChatHistory(args.session);
  out(`history ${history.length}`);
}

const modes = { append, 'crash-writer': crashWriter, critical, 'hold-lock': holdLock, fill };
const run = modes[mode];
if (!run) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
run().then(
  () => {
    if (mode !== 'hold-lock') process.exit(0);
  },
  (err) => {
    process.stderr.write(`child failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
