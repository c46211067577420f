/**
 * What this machine's scheduler and loopback allow, as a yardstick for the host-added latency:
 * the same shape of work with none of the host in it. The bench process makes two sequential
 * round trips (as ingress stores the turn and adds the kick), a child process wakes from a
 * blocking pop and makes two more (as the worker fetches the job and claims the session), at
 * the same open-loop rate as the latency figure it stands beside, across the same 3 processes
 * (bench, worker, Redis) sharing the machine's cores.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRedis } from '../../src/redis/redis-connection.js';
import { openLoop, percentile } from './report.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'latency-floor-worker.js');

export async function latencyFloor(url: string, rate: number, total: number): Promise<{ p50: number; p99: number; over5: number }> {
  const name = `bench-floor-${randomUUID().slice(0, 8)}`;
  const client = connectRedis(url);
  const subscriber = connectRedis(url);
  const latencies: number[] = [];
  await subscriber.subscribe(`${name}:done`);
  subscriber.on('message', (_channel: string, message: string) => {
    const [t0, done] = message.split(' ').map(Number) as [number, number];
    latencies.push(done - t0);
  });
  const child = spawn(process.execPath, [WORKER, url, `${name}:queue`, `${name}:done`], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`floor worker exited ${code}`)));
    });
    await openLoop(rate, total, () => {
      const t0 = (performance.timeOrigin + performance.now()).toFixed(3);
      void client.set(`${name}:stored`, t0).then(() => client.lpush(`${name}:queue`, t0));
    });
    const deadline = Date.now() + 60_000;
    while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), over5: latencies.filter((l) => l > 5).length };
  } finally {
    child.kill('SIGKILL');
    await client.del(`${name}:stored`, `${name}:queue`, ...Array.from({ length: 10 }, (_, i) => [`${name}:queue:fetch:${i}`, `${name}:queue:claim:${i}`]).flat());
    subscriber.disconnect();
    client.disconnect();
  }
}
