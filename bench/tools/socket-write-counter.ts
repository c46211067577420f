/**
 * Preloaded into `bot worker` processes by the bench (`node --import …/socket-write-counter.js`):
 * counts socket flushes and bytes — the worker's side of its Redis round trips, independent of
 * how loaded the machine is — and appends `<pid> <flushes> <bytes> <user ms> <system ms>` to
 * $SOCKET_WRITES_FILE on exit. A flush is one `_write` or `_writev` (one syscall attempt): the
 * commands a corked socket collects in an event-loop turn are one flush, not one per command.
 */
import { appendFileSync } from 'node:fs';
import { Socket } from 'node:net';

type Chunk = { chunk: unknown };
const size = (chunk: unknown) => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : ((chunk as Buffer)?.length ?? 0));

const file = process.env.SOCKET_WRITES_FILE;
if (file) {
  let flushes = 0;
  let bytes = 0;
  // Internal Writable hooks: not in Socket's typings.
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (this: Socket, ...a: unknown[]) => void>;
  const write = proto._write;
  const writev = proto._writev;
  proto._write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    // TCP only (Redis); not the stderr pipe.
    if (this.remotePort !== undefined) {
      flushes++;
      bytes += size(chunk);
    }
    return write.call(this, chunk, ...rest);
  };
  proto._writev = function (this: Socket, chunks: unknown, ...rest: unknown[]) {
    if (this.remotePort !== undefined) {
      flushes++;
      for (const c of chunks as Chunk[]) bytes += size(c.chunk);
    }
    return writev.call(this, chunks, ...rest);
  };
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    appendFileSync(file, `${process.pid} ${flushes} ${bytes} ${Math.round(cpu.user / 1000)} ${Math.round(cpu.system / 1000)}\n`);
  });
}
