/**
 * Preloaded into `bot worker` processes by the bench (`node --import …/socket-write-counter.js`):
 * counts socket writes and bytes — the worker's side of its Redis round trips, independent of
 * how loaded the machine is — and appends `<pid> <writes> <bytes> <user ms> <system ms>` to $SOCKET_WRITES_FILE on exit.
 */
import { appendFileSync } from 'node:fs';
import { Socket } from 'node:net';

const file = process.env.SOCKET_WRITES_FILE;
if (file) {
  let writes = 0;
  let bytes = 0;
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    // TCP only (Redis); not the stderr pipe.
    if (this.remotePort === undefined) return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    writes++;
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : ((chunk as Buffer)?.length ?? 0);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof Socket.prototype.write;
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    appendFileSync(file, `${process.pid} ${writes} ${bytes} ${Math.round(cpu.user / 1000)} ${Math.round(cpu.system / 1000)}\n`);
  });
}
