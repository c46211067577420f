/** Child of the gateway bench: opens N idle WebSocket connections (joined), reports, holds them until stdin closes. */
import WebSocket from 'ws';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
const sockets: WebSocket[] = [];
let joined = 0;
const BATCH = 500;
for (let i = 0; i < count; i += BATCH) {
  await Promise.all(
    Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(url!, { perMessageDeflate: false });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'join', session_id: `idle-${(i + j) % 100}` })));
        ws.once('message', () => {
          joined++;
          resolve();
        });
        ws.once('error', reject);
        sockets.push(ws);
      }),
    ),
  );
}
process.stdout.write(`ready ${joined}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
