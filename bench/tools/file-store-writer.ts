/**
 * One writer process of the multi-process bench: appends `count` messages to one session and
 * prints a JSON summary (errors, wall and CPU milliseconds). Started by file-store.bench.ts
 * with: <dir> <session> <proc> <count>.
 */
import { FileSessionStore } from '../../src/sessions/file-session-store.js';

const [dir, session, proc, count] = process.argv.slice(2);
const store = new FileSessionStore({ dir: dir!, maxMessages: 100_000 });
// Start barrier: say "ready" once loaded, begin on "go", so the wall time is the appends'
// contention, not eight Node start-ups.
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
let errors = 0;
const t = process.hrtime.bigint();
const cpu = process.cpuUsage();
for (let i = 0; i < Number(count); i++) {
  try {
    await store.addMessage(session!, 'user', `p${proc}-${i}`);
  } catch (err) {
    errors++;
    process.stderr.write(`append failed: ${(err as Error).message}\n`);
  }
}
const { user, system } = process.cpuUsage(cpu);
process.stdout.write(`${JSON.stringify({ proc, errors, ms: Number(process.hrtime.bigint() - t) / 1e6, cpuMs: (user + system) / 1000 })}\n`);
process.stdin.destroy();
