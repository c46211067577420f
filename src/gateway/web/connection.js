// One WebSocket to the gateway for one session: joins with the cached cursor (`since`) and the
// stored token, reconnects by itself with backoff, and tells the page what happened.
// Close codes: 4001 unauthorized (wait for a token), 4000 idle (reconnect when the user types).

export function createConnection({ onFrame, onStatus, onOpen, onClosed }) {
  let ws = null;
  let attempt = 0;
  let retryTimer = null;
  let paused = null; // 'idle' | 'unauthorized' | null
  let joinFrame = () => ({});

  function connect(makeJoin) {
    if (makeJoin) joinFrame = makeJoin;
    clearTimeout(retryTimer);
    paused = null;
    if (ws) {
      const old = ws;
      ws = null;
      old.close();
    }
    onStatus('', attempt ? 'reconnecting…' : 'connecting…');
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws = socket;
    socket.onopen = () => {
      if (socket !== ws) return;
      socket.send(JSON.stringify({ type: 'join', ...joinFrame() }));
      onOpen?.();
    };
    socket.onmessage = (m) => {
      if (socket !== ws) return;
      try {
        onFrame(JSON.parse(m.data));
      } catch (err) {
        console.error(err);
      }
    };
    socket.onclose = (ev) => {
      if (socket !== ws) return;
      onClosed?.();
      if (ev.code === 4001) {
        paused = 'unauthorized';
        onStatus('offline', 'not authorized: enter an access token');
        return;
      }
      if (ev.code === 4000) {
        paused = 'idle';
        onStatus('offline', 'paused while idle — type to continue');
        return;
      }
      attempt++;
      const delay = Math.min(8000, 400 * 2 ** Math.min(attempt, 5)) * (0.6 + Math.random() * 0.4);
      onStatus('offline', `offline — retrying in ${Math.ceil(delay / 1000)} s`);
      retryTimer = setTimeout(() => connect(), delay);
    };
  }

  return {
    connect,
    /** Joined: the backoff starts over. */
    joined() {
      attempt = 0;
    },
    send(frame) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(frame));
        return true;
      }
      return false;
    },
    /** Closed for idleness or broken: connect again now (the join resends the outbox). */
    wake() {
      if (paused === 'unauthorized') return;
      if (paused === 'idle' || !ws || ws.readyState > WebSocket.OPEN) {
        attempt = 0;
        connect();
      }
    },
    get open() {
      return ws !== null && ws.readyState === WebSocket.OPEN;
    },
  };
}
