/**
 * Per-chat pacing: at most one send into a chat every `intervalMs` (WhatsApp flags linked
 * devices that burst), chats independent of each other. `wait(chat)` resolves when this send
 * may go; callers into one chat are served in order.
 */
export class ChatPacer {
  private readonly next = new Map<string, Promise<void>>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when a send into `chat` may go; the following one waits `intervalMs` after it. */
  wait(chat: string, signal?: AbortSignal): Promise<void> {
    if (this.intervalMs <= 0) return Promise.resolve();
    const prev = this.next.get(chat) ?? Promise.resolve();
    const mine = prev.then(() => undefined);
    const release = mine.then(
      () =>
        new Promise<void>((resolve) => {
          const t = setTimeout(done, this.intervalMs);
          function done() {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            resolve();
          }
          signal?.addEventListener('abort', done, { once: true });
        }),
    );
    this.next.set(chat, release);
    // Forget idle chats, so the map holds only chats with a send in the last interval.
    void release.then(() => {
      if (this.next.get(chat) === release) this.next.delete(chat);
    });
    return mine;
  }

  /** Chats with a send in the last interval (tests, metrics). */
  get activeChats(): number {
    return this.next.size;
  }
}
