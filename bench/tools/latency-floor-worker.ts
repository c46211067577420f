/**
 * The worker side of the latency floor (latency-floor.ts), a child process: ten loops, each
 * waiting on the queue with a blocking pop, then making two round trips (as a worker fetches the
 * job and claims the session), then stamping the time and publishing it with the arrival's.
 */
import { connectRedis } from '../../src/redis/redis-connection.js';

const [url, queue, channel] = process.argv.slice(2) as [string, string, string];
const client = connectRedis(url);
for (let loop = 0; loop < 10; loop++) {
  const blocking = connectRedis(url);
  void (async () => {
    for (;;) {
      const popped = await blocking.brpop(queue, 0);
      if (!popped) continue;
      await client.set(`${queue}:fetch:${loop}`, popped[1]);
      await client.set(`${queue}:claim:${loop}`, popped[1]);
      void client.publish(channel, `${popped[1]} ${(performance.timeOrigin + performance.now()).toFixed(3)}`);
    }
  })();
}
process.stderr.write('floor worker ready\n');
