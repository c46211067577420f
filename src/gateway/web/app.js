// bothost web chat: plain ES modules, no build step. Per session it keeps the highest cursor, a
// short cache of the conversation and the unacknowledged messages in localStorage, sends `since`
// on every (re)connect and reconnects by itself. The protocol is docs/gateway.md.
import { conversations, dropCache, loadCache, saveCache, store, titleFrom, uuid } from './chat-store.js';
import { createConnection } from './connection.js';
import { addAction, markStopped, rawOf, setText, setTime } from './render.js';
import { createSidebar } from './sidebar.js';
import { createTranscript } from './transcript.js';

const $ = (id) => document.getElementById(id);
const els = {
  log: $('log'), empty: $('empty'), input: $('input'), send: $('send'), stop: $('stop'), form: $('composer'),
  dot: $('status-dot'), status: $('status-text'), agent: $('agent-name'), session: $('session-label'),
  newChat: $('new-chat'), list: $('conversations'), announcer: $('announcer'),
  tokenForm: $('token-form'), tokenInput: $('token-input'),
};
const RETRYABLE = new Set(['rate_limited', 'busy', 'unavailable']);
const REJECTED = new Set(['too_long', 'empty_message']);

// A token can be handed over once in the URL (…/#token=… or ?token=…); it is kept, then removed from the address bar.
const params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
if (params.get('token')) {
  store.set('token', params.get('token'));
  history.replaceState(null, '', location.pathname);
}

let sessionId = store.get('session', null) || uuid();
let cache = { cursor: 0, events: [], outbox: [] };
let identity = null;
let agentName = 'Assistant';
const streams = new Map(); // reply_to → element
let running = null; // the message id whose reply is being written (true: one is, id unknown)

const { bubble, typing, findMine, refreshEmpty, renderSoon, clear: clearView } = createTranscript(els, () => agentName);
const sidebar = createSidebar(els.list, {
  open: (id) => openSession(id),
  rename: (id, title) => {
    conversations.touch(id, { title, rename: true });
    conn.send({ type: 'rename_session', session_id: id, title });
    refreshList();
  },
  remove: (id) => removeSession(id),
});
const refreshList = () => sidebar(conversations.all(), sessionId);

function setStatus(kind, text) {
  els.dot.className = `dot ${kind}`;
  els.status.textContent = text;
}
const persist = () => saveCache(sessionId, cache);

function setRunning(value) {
  running = value;
  els.stop.hidden = !value;
}

/** The user message a reply answers (for Retry). */
const questionOf = (replyTo) => cache.events.find((e) => e.type === 'message' && e.id === replyTo)?.content;

function decorateReply(el, e) {
  if (!e.stopped) return;
  markStopped(el);
  const question = questionOf(e.reply_to);
  if (question) addAction(el, 'Retry', 'Retry: send the same message again', () => sendMessage(question));
}

function render(e) {
  if (e.type === 'message') {
    const mine = e.id && findMine(e.id);
    if (mine) {
      mine.classList.remove('pending');
      setText(mine, e.content);
      setTime(mine, e.ts);
      return;
    }
    bubble('user', e.content, { id: e.id, ts: e.ts });
  } else if (e.type === 'response') {
    const live = streams.get(e.reply_to || '');
    streams.delete(e.reply_to || '');
    if (live) {
      live.classList.remove('streaming');
      live.removeAttribute('aria-busy');
      setText(live, e.content);
      setTime(live, e.ts);
      decorateReply(live, e);
      return;
    }
    decorateReply(bubble('assistant', e.content, { ts: e.ts }), e);
  } else {
    bubble('notice', e.content, { ts: e.ts });
  }
}

function loadSession() {
  cache = loadCache(sessionId);
  clearView();
  streams.clear();
  setRunning(null);
  for (const e of cache.events) render(e);
  for (const m of cache.outbox) bubble('user pending', m.content, { id: m.id });
  els.session.textContent = `session ${sessionId}`;
  refreshEmpty();
  refreshList();
}

/** Every event with a cursor goes through here: shown once, in order, never twice. */
function accept(e, live) {
  if (typeof e.cursor !== 'number' || e.cursor <= cache.cursor) return;
  cache.cursor = e.cursor;
  if (e.type === 'message') cache.outbox = cache.outbox.filter((m) => m.id !== e.id);
  if (e.type === 'response') {
    if (streams.size <= 1 && cache.outbox.length === 0) typing(false);
    if (running === true || running === e.reply_to) setRunning(null);
    if (els.status.textContent === 'stopping…') setStatus('online', 'online');
    if (live) els.announcer.textContent = `${agentName}${e.stopped ? ' (stopped)' : ''}: ${e.content.slice(0, 300)}`;
  }
  const { type, content, cursor, id, reply_to, ts, stopped } = e;
  cache.events.push({ type, content, cursor, id, reply_to, ts, stopped });
  render(e);
  persist();
}

/** Notices (from /status, /new, …) carry no cursor of their own: kept in the cache after the cursor they came at. */
function notice(content) {
  const e = { type: 'notice', content, after: cache.cursor, ts: Date.now() };
  cache.events.push(e);
  persist();
  render(e);
}

function resync(f) {
  // Notices about what is still shown stay. A /new (cleared) keeps only its own notice, which
  // arrives just before the resync (commands do not advance the cursor, so only time tells).
  const from = (f.snapshot[0]?.cursor ?? f.cursor) - 1;
  const last = cache.events.filter((e) => e.type === 'notice').at(-1);
  const notices = f.reason === 'cleared' ? (last && Date.now() - last.ts < 3000 ? [last] : []) : cache.events.filter((e) => e.type === 'notice' && e.after >= from);
  cache.events = [];
  cache.cursor = 0;
  els.log.querySelectorAll('.msg').forEach((n) => n.remove());
  streams.clear();
  for (const e of f.snapshot) accept(e, false);
  cache.cursor = f.cursor;
  // Notices stay, at their place among the events kept (a /new's notice opens the fresh view).
  for (const n of notices) {
    const at = cache.events.findIndex((e) => (e.cursor ?? e.after) > n.after);
    if (at < 0) cache.events.push(n);
    else cache.events.splice(at, 0, n);
  }
  els.log.querySelectorAll('.msg').forEach((n) => n.remove());
  for (const e of cache.events) render(e);
  for (const m of cache.outbox) bubble('user pending', m.content, { id: m.id });
  persist();
  refreshEmpty();
}

function onError(f) {
  if (f.session_id !== undefined) {
    // About a rename or delete of a listed session (not the joined one): the list is fixed up locally.
    if (f.code === 'not_found' || f.code === 'forbidden') conversations.remove(f.session_id);
    refreshList();
    return;
  }
  if (f.code === 'unauthorized') return askForToken(f.message);
  if (f.code === 'not_running') return setRunning(null);
  // forbidden: the id is someone else's, start a fresh one; not_found: the session was deleted,
  // join it again (the outbox is resent once joined); future_since: our cache is from elsewhere.
  if (f.code === 'future_since' || f.code === 'forbidden' || f.code === 'not_found') return resetSession(f.code === 'forbidden');
  const queued = f.reply_to && cache.outbox.find((m) => m.id === f.reply_to);
  if (queued && RETRYABLE.has(f.code)) {
    // Not accepted yet: send it again later under the same id (it can never run twice).
    setTimeout(() => {
      if (cache.outbox.includes(queued)) conn.send({ type: 'message', id: queued.id, content: queued.content, stream: true });
    }, f.retry_after_ms || 2000);
    setStatus('online', f.code === 'rate_limited' ? 'slow down a little — sending shortly' : 'busy — sending shortly');
    return;
  }
  if (queued) {
    cache.outbox = cache.outbox.filter((m) => m !== queued);
    persist();
    const el = findMine(f.reply_to);
    if (REJECTED.has(f.code)) {
      // Refused as written: back into the box to edit, nothing lost.
      el?.remove();
      if (els.input.value.trim() === '') els.input.value = queued.content;
      autosize();
      els.input.focus();
    } else if (el) {
      el.classList.remove('pending');
      el.classList.add('failed');
      el.title = f.message;
    }
  }
  if (f.code === 'turn_failed') {
    typing(false);
    if (f.reply_to) streams.get(f.reply_to)?.remove();
    streams.delete(f.reply_to || '');
    setRunning(null);
  }
  const err = bubble('error', f.message);
  err.setAttribute('role', 'alert');
  const question = f.code === 'turn_failed' && f.reply_to ? questionOf(f.reply_to) ?? findMine(f.reply_to)?.dataset.raw : undefined;
  if (question) addAction(err, 'Retry', 'Retry: send the same message again', () => {
    err.remove();
    sendMessage(question);
  });
  refreshEmpty();
}

function onFrame(f) {
  switch (f.type) {
    case 'joined':
      conn.joined();
      identity = f.identity;
      setStatus('online', 'online');
      agentName = f.agent_name || f.agent_id;
      els.agent.textContent = agentName;
      document.title = `${agentName} · bothost`;
      els.tokenForm.hidden = true;
      for (const p of f.pending || []) if (!findMine(p.id)) bubble('user', p.content, { id: p.id });
      typing((f.pending || []).length > 0 || f.executing);
      setRunning(f.executing ? true : null); // which message runs is not said: Stop stops the running one
      for (const m of cache.outbox) conn.send({ type: 'message', id: m.id, content: m.content, stream: true }); // not acknowledged before: same id, never run twice
      // A token identity's conversations are the server's; without one, this browser's own.
      if (identity !== 'local') conn.send({ type: 'list_sessions' });
      break;
    case 'replay':
      accept(f.event, false);
      break;
    case 'message':
    case 'response':
      accept(f, true);
      break;
    case 'resync':
      resync(f);
      break;
    case 'accepted': {
      findMine(f.id)?.classList.remove('pending');
      cache.outbox = cache.outbox.filter((m) => m.id !== f.id);
      persist();
      break;
    }
    case 'typing':
      typing(true);
      setRunning(f.reply_to ?? true);
      break;
    case 'stream': {
      const key = f.reply_to || '';
      let el = streams.get(key);
      if (!el) {
        el = bubble('assistant streaming', '');
        el.setAttribute('aria-busy', 'true');
        streams.set(key, el);
        typing(false);
        setRunning(f.reply_to ?? true);
      }
      const raw = rawOf(el);
      if (f.offset === raw.length) {
        el.dataset.raw = raw + f.delta;
        renderSoon(el);
      }
      break;
    }
    case 'stopping':
      setStatus('online', 'stopping…');
      break;
    case 'stream_end': // the response frame that follows carries the final text
      break;
    case 'notice':
      notice(f.content);
      break;
    case 'sessions':
      conversations.replaceWith(f.sessions.filter((s) => s.last_cursor > 0 || s.title || s.session_id === sessionId));
      refreshList();
      break;
    case 'session_renamed':
      conversations.touch(f.session_id, { title: f.title, rename: true });
      refreshList();
      break;
    case 'error':
      onError(f);
      break;
    default:
      break;
  }
}

const conn = createConnection({
  onFrame,
  onStatus: setStatus,
  onClosed: () => {
    for (const el of streams.values()) el.remove(); // partial text; the full reply replays on resume
    streams.clear();
    setRunning(null);
  },
});
const joinFrame = () => {
  const token = store.get('token', null);
  return { session_id: sessionId, since: cache.cursor, stream: true, ...(token ? { token } : {}) };
};

function openSession(id) {
  persist();
  sessionId = id;
  store.set('session', sessionId);
  loadSession();
  conn.connect(joinFrame);
  els.input.focus();
}

function resetSession(fresh) {
  if (fresh) {
    sessionId = uuid();
    store.set('session', sessionId);
  }
  dropCache(sessionId);
  loadSession();
  conn.connect(joinFrame);
}

function removeSession(id) {
  conn.send({ type: 'delete_session', session_id: id }); // the server deletes it if it is ours
  conversations.remove(id);
  if (id === sessionId) {
    const next = conversations.all()[0];
    openSession(next ? next.id : uuid());
  } else refreshList();
}

function askForToken(message) {
  els.tokenForm.hidden = false;
  setStatus('offline', message ? 'not authorized: enter an access token' : 'enter an access token');
  els.tokenInput.focus();
}

function sendMessage(content) {
  const id = uuid();
  cache.outbox.push({ id, content });
  persist();
  if (!cache.events.some((e) => e.type === 'message')) conversations.touch(sessionId, { title: titleFrom(content) });
  else conversations.touch(sessionId);
  refreshList();
  bubble('user pending', content, { id });
  if (!conn.open) conn.wake(); // the join resends the outbox
  else conn.send({ type: 'message', id, content, stream: true });
}

function stopReply() {
  if (!running) return;
  conn.send({ type: 'stop', ...(typeof running === 'string' ? { id: running } : {}) });
}

els.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const content = els.input.value.trim();
  if (!content) return;
  els.input.value = '';
  autosize();
  sendMessage(content);
});
els.input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    els.form.requestSubmit();
  }
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && running) {
    ev.preventDefault();
    stopReply();
  }
});
els.stop.addEventListener('click', () => {
  stopReply();
  els.input.focus();
});
const autosize = () => {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(160, els.input.scrollHeight)}px`;
};
els.input.addEventListener('input', autosize);
els.newChat.addEventListener('click', () => {
  if (cache.events.length === 0 && cache.outbox.length === 0) return els.input.focus(); // this one is new already
  openSession(uuid());
});
els.tokenForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = els.tokenInput.value.trim();
  if (!token) return;
  store.set('token', token);
  els.tokenInput.value = '';
  els.tokenForm.hidden = true;
  conn.connect(joinFrame);
});
window.addEventListener('online', () => conn.wake());

store.set('session', sessionId);
loadSession();
const first = cache.events.find((e) => e.type === 'message');
if (first) conversations.touch(sessionId, { title: titleFrom(first.content), updated: first.ts ?? Date.now() });
refreshList();
conn.connect(joinFrame);
els.input.focus();
