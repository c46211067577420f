/** A real `ws` client for gateway tests: records every frame, waits for frames, knows how it closed. */
import WebSocket from 'ws';

export type Frame = Record<string, any> & { type: string };

export class TestClient {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (d) => {
      this.frames.push(JSON.parse(String(d)) as Frame);
      this.poke();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => {
      this.poke();
      resolve({ code, reason: String(reason) });
    }));
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const c = new TestClient(url, options);
    await c.opened;
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from index `from`) matching `pred`. */
  async next(pred: (f: Frame) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<Frame> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const f = this.frames.slice(options.from ?? 0).find(pred);
      if (f) return f;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed before a matching frame; frames: ${JSON.stringify(this.frames).slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${options.timeoutMs ?? 10_000} ms; frames: ${JSON.stringify(this.frames).slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Join and wait for `joined` (or an error). */
  async join(frame: Record<string, unknown>): Promise<Frame> {
    const from = this.frames.length;
    this.send({ type: 'join', ...frame });
    return this.next((f) => f.type === 'joined' || f.type === 'error', { from });
  }

  /** Send a message and wait for its `response` (by reply_to). */
  async ask(content: string, id: string, options: { stream?: boolean; timeoutMs?: number } = {}): Promise<Frame> {
    const from = this.frames.length;
    this.send({ type: 'message', content, id, ...(options.stream !== undefined ? { stream: options.stream } : {}) });
    return this.next((f) => (f.type === 'response' && f.reply_to === id) || (f.type === 'error' && f.code !== 'bad_frame'), { from, timeoutMs: options.timeoutMs ?? 10_000 });
  }

  /** Cursors of every event frame (live or replayed) in arrival order. */
  cursors(): number[] {
    const out: number[] = [];
    for (const f of this.frames) {
      if (f.type === 'replay') out.push(f.event.cursor);
      else if (f.type === 'message' || f.type === 'response') out.push(f.cursor);
    }
    return out;
  }

  close(): void {
    this.ws.close();
  }

  private poke(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}
