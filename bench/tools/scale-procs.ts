/**
 * What one spawned process holds, read from /proc (Linux): peak RSS, CPU seconds, and its
 * Redis connections.
 *
 * Redis connections are counted from both ends: the process's own TCP sockets (its fds'
 * socket inodes, matched in /proc/net/tcp{,6} to established connections whose remote port is
 * Redis's), then those local ports looked up in Redis's `CLIENT LIST` — so the figure is what
 * Redis sees of this process, whatever names its clients carry (BullMQ names its own, the host's
 * clients are unnamed) and without counting other processes on the same Redis.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Redis } from 'ioredis';

/** VmHWM: the most resident memory the process has had. */
export function peakRssBytes(pid: number): Promise<number> {
  return statusBytes(pid, 'VmHWM');
}

/** VmRSS: resident memory now. */
export function rssBytes(pid: number): Promise<number> {
  return statusBytes(pid, 'VmRSS');
}

async function statusBytes(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** User + system CPU seconds so far (/proc/<pid>/stat utime and stime, 100 ticks per second). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const { user, kernel } = await cpuSplitOf(pid);
  return user + kernel;
}

/** The process's CPU seconds in user space and in the kernel (syscalls, loopback TCP it sends). */
export async function cpuSplitOf(pid: number): Promise<{ user: number; kernel: number }> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) / 100, kernel: Number(fields[12]) / 100 };
}

/** Local ports of the process's established TCP connections to `remotePort`. */
export async function tcpPortsTo(pid: number, remotePort: number): Promise<Set<number>> {
  const inodes = new Set<string>();
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  await Promise.all(
    fds.map(async (fd) => {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]!);
    }),
  );
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [local, remote, state, inode] = [f[1]!, f[2]!, f[3]!, f[9]!];
      // State 01 = ESTABLISHED; addresses are hex `ip:port`.
      if (state !== '01' || !inodes.has(inode)) continue;
      if (parseInt(remote.split(':').at(-1)!, 16) !== remotePort) continue;
      ports.add(parseInt(local.split(':').at(-1)!, 16));
    }
  }
  return ports;
}

/** The process's connections as Redis lists them (`CLIENT LIST` entries from its local ports). */
export async function redisConnectionsOf(pid: number, client: Redis, redisUrl: string): Promise<number> {
  const ports = await tcpPortsTo(pid, Number(new URL(redisUrl).port || 6379));
  const list = (await client.call('CLIENT', 'LIST')) as string;
  let n = 0;
  for (const m of list.matchAll(/\baddr=\S+:(\d+)\s/g)) if (ports.has(Number(m[1]))) n++;
  return n;
}

/** The whole machine's CPU time so far, in seconds: busy (every state but idle and iowait) and total (/proc/stat). */
export async function machineCpuOf(): Promise<{ busy: number; total: number }> {
  const ticks = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busy: (total - idle) / 100, total: total / 100 };
}

/** The Redis server's own CPU seconds so far (`INFO cpu`: user + sys). */
export async function redisCpuOf(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}
