// bothost web chat: no framework, no build step. Keeps the highest cursor (and a short cache of
// the conversation) in localStorage, sends `since` on every (re)connect, reconnects by itself.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const els = { log: $('log'), empty: $('empty'), input: $('input'), send: $('send'), form: $('composer'), dot: $('status-dot'), status: $('status-text'), agent: $('agent-name'), session: $('session-label'), newChat: $('new-chat') };
  const KEEP = 300; // events cached for instant display after a reload
  const RETRYABLE = new Set(['rate_limited', 'busy', 'unavailable']);
  const store = {
    get: (k, d) => { try { const v = localStorage.getItem(`bothost.${k}`); return v === null ? d : JSON.parse(v); } catch { return d; } },
    set: (k, v) => { try { localStorage.setItem(`bothost.${k}`, JSON.stringify(v)); } catch { /* full or disabled: the server still has it */ } },
    del: (k) => localStorage.removeItem(`bothost.${k}`),
  };
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

  // A token can be handed over once in the URL (…/#token=… or ?token=…); it is kept, then removed from the address bar.
  const params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
  if (params.get('token')) { store.set('token', params.get('token')); history.replaceState(null, '', location.pathname); }

  let sessionId = store.get('session', null) || uuid();
  store.set('session', sessionId);
  let cursor = 0;
  let events = [];
  let outbox = [];
  let ws = null;
  let attempt = 0;
  let retryTimer = null;
  let idleClosed = false;
  const streams = new Map(); // reply_to → bubble
  let typingEl = null;

  function loadSession() {
    cursor = store.get(`cursor.${sessionId}`, 0);
    events = store.get(`events.${sessionId}`, []);
    outbox = store.get(`outbox.${sessionId}`, []);
    if (events.length === 0) cursor = 0; // nothing to show: ask for everything
    els.log.querySelectorAll('.msg, .typing').forEach((n) => n.remove());
    streams.clear();
    typingEl = null;
    for (const e of events) render(e);
    for (const m of outbox) bubble('user pending', m.content, m.id);
    els.session.textContent = `session ${sessionId}`;
    refreshEmpty();
  }
  const persist = () => {
    if (events.length > KEEP) events = events.slice(-KEEP);
    store.set(`cursor.${sessionId}`, cursor);
    store.set(`events.${sessionId}`, events);
    store.set(`outbox.${sessionId}`, outbox);
  };

  function setStatus(kind, text) {
    els.dot.className = `dot ${kind}`;
    els.status.textContent = text;
  }
  function refreshEmpty() {
    els.empty.hidden = els.log.querySelector('.msg') !== null;
  }
  function scroll() {
    els.log.scrollTop = els.log.scrollHeight;
  }
  // Replies are Markdown: parsed by marked, then sanitised by DOMPurify, so no HTML a model writes
  // (script, event handlers, javascript: links) ever reaches the page. The raw text is kept for
  // streaming offsets; a stream re-renders at most once per frame.
  const markdownReady = typeof window.marked !== 'undefined' && typeof window.DOMPurify !== 'undefined';
  function setText(el, text) {
    el.dataset.raw = text;
    if (!el.classList.contains('assistant') || !markdownReady) { el.textContent = text; return; }
    const html = window.marked.parse(text, { gfm: true, breaks: true, async: false });
    el.classList.add('md');
    el.innerHTML = window.DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'img'], FORBID_ATTR: ['style'] });
    for (const a of el.querySelectorAll('a')) { a.target = '_blank'; a.rel = 'noopener noreferrer nofollow'; }
    for (const pre of el.querySelectorAll('pre')) {
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'copy';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy code');
      copy.addEventListener('click', () => {
        const code = pre.querySelector('code')?.textContent ?? '';
        navigator.clipboard?.writeText(code).then(() => { copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy'; }, 1500); }, () => undefined);
      });
      pre.appendChild(copy);
    }
  }
  const rawOf = (el) => el.dataset.raw ?? el.textContent;
  const pendingRender = new Set();
  function renderSoon(el) {
    if (pendingRender.has(el)) return;
    pendingRender.add(el);
    requestAnimationFrame(() => { pendingRender.delete(el); setText(el, rawOf(el)); scroll(); });
  }
  function bubble(cls, text, id) {
    const div = document.createElement('div');
    div.className = `msg ${cls}`;
    setText(div, text);
    if (id) div.dataset.id = id;
    if (typingEl) els.log.insertBefore(div, typingEl); else els.log.appendChild(div);
    refreshEmpty();
    scroll();
    return div;
  }
  function typing(on) {
    if (on && !typingEl) {
      typingEl = document.createElement('div');
      typingEl.className = 'typing';
      typingEl.innerHTML = '<i></i><i></i><i></i>';
      els.log.appendChild(typingEl);
      scroll();
    } else if (!on && typingEl) {
      typingEl.remove();
      typingEl = null;
    }
  }

  function render(e) {
    if (e.type === 'message') {
      const mine = e.id && els.log.querySelector(`.msg.user[data-id="${CSS.escape(e.id)}"]`);
      if (mine) { mine.classList.remove('pending'); mine.textContent = e.content; return; }
      bubble('user', e.content, e.id);
    } else if (e.type === 'response') {
      const live = streams.get(e.reply_to || '');
      streams.delete(e.reply_to || '');
      if (live) { live.classList.remove('streaming'); setText(live, e.content); return; }
      bubble('assistant', e.content);
    } else {
      bubble('notice', e.content);
    }
  }

  /** Every event with a cursor goes through here: shown once, in order, never twice. */
  function accept(e) {
    if (typeof e.cursor !== 'number' || e.cursor <= cursor) return;
    cursor = e.cursor;
    if (e.type === 'message') outbox = outbox.filter((m) => m.id !== e.id);
    if (e.type === 'response' && streams.size <= 1 && outbox.length === 0) typing(false);
    events.push({ type: e.type, content: e.content, cursor: e.cursor, id: e.id, reply_to: e.reply_to });
    render(e);
    persist();
  }

  function onFrame(f) {
    switch (f.type) {
      case 'joined':
        attempt = 0;
        setStatus('online', 'online');
        els.agent.textContent = f.agent_name || f.agent_id;
        document.title = `${els.agent.textContent} · bothost`;
        for (const p of f.pending || []) {
          if (!els.log.querySelector(`.msg.user[data-id="${CSS.escape(p.id)}"]`)) bubble('user', p.content, p.id);
        }
        typing((f.pending || []).length > 0 || f.executing);
        for (const m of outbox) send({ type: 'message', id: m.id, content: m.content, stream: true }); // not acknowledged before: same id, never run twice
        break;
      case 'replay': accept(f.event); break;
      case 'message': case 'response': accept(f); break;
      case 'resync':
        events = [];
        cursor = 0;
        els.log.querySelectorAll('.msg').forEach((n) => n.remove());
        streams.clear();
        for (const e of f.snapshot) accept(e);
        cursor = f.cursor;
        for (const m of outbox) bubble('user pending', m.content, m.id);
        persist();
        refreshEmpty();
        break;
      case 'accepted': {
        const el = els.log.querySelector(`.msg.user[data-id="${CSS.escape(f.id)}"]`);
        if (el) el.classList.remove('pending');
        outbox = outbox.filter((m) => m.id !== f.id);
        persist();
        break;
      }
      case 'typing': typing(true); break;
      case 'stream': {
        let el = streams.get(f.reply_to || '');
        if (!el) { el = bubble('assistant streaming', ''); streams.set(f.reply_to || '', el); typing(false); }
        const raw = rawOf(el);
        if (f.offset === raw.length) { el.dataset.raw = raw + f.delta; renderSoon(el); }
        break;
      }
      case 'stream_end': break; // the response frame that follows carries the final text
      case 'notice': bubble('notice', f.content); break;
      case 'error': {
        if (f.code === 'future_since' || (f.code === 'forbidden' && !f.reply_to)) { resetSession(f.code === 'forbidden'); return; }
        const queued = f.reply_to && outbox.find((m) => m.id === f.reply_to);
        if (queued && RETRYABLE.has(f.code)) {
          // Not accepted yet: send it again later under the same id (it can never run twice).
          setTimeout(() => { if (outbox.includes(queued)) send({ type: 'message', id: queued.id, content: queued.content, stream: true }); }, f.retry_after_ms || 2000);
          setStatus('online', f.code === 'rate_limited' ? 'slow down a little — sending shortly' : 'busy — sending shortly');
          return;
        }
        if (queued) {
          outbox = outbox.filter((m) => m !== queued);
          persist();
          const el = els.log.querySelector(`.msg.user[data-id="${CSS.escape(f.reply_to)}"]`);
          if (el) { el.classList.remove('pending'); el.classList.add('failed'); el.title = f.message; }
        }
        if (f.code === 'turn_failed') typing(false);
        bubble('error', f.message);
        break;
      }
      default: break;
    }
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function connect() {
    clearTimeout(retryTimer);
    idleClosed = false;
    setStatus('', attempt ? 'reconnecting…' : 'connecting…');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    ws = new WebSocket(url);
    const socket = ws;
    socket.onopen = () => {
      const token = store.get('token', null);
      send({ type: 'join', session_id: sessionId, since: cursor, stream: true, ...(token ? { token } : {}) });
    };
    socket.onmessage = (m) => { try { onFrame(JSON.parse(m.data)); } catch (err) { console.error(err); } };
    socket.onclose = (ev) => {
      if (socket !== ws) return;
      for (const el of streams.values()) el.remove(); // partial text; the full reply replays on resume
      streams.clear();
      if (ev.code === 4001) { setStatus('offline', 'not authorized: open the link with your token'); return; }
      if (ev.code === 4000) { idleClosed = true; setStatus('offline', 'paused while idle — type to continue'); return; }
      attempt++;
      const delay = Math.min(8000, 400 * 2 ** Math.min(attempt, 5)) * (0.6 + Math.random() * 0.4);
      setStatus('offline', `offline — retrying in ${Math.ceil(delay / 1000)} s`);
      retryTimer = setTimeout(connect, delay);
    };
  }

  function resetSession(fresh) {
    if (fresh) { sessionId = uuid(); store.set('session', sessionId); }
    store.del(`cursor.${sessionId}`); store.del(`events.${sessionId}`);
    loadSession();
    if (ws) { const old = ws; ws = null; old.close(); }
    connect();
  }

  els.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const content = els.input.value.trim();
    if (!content) return;
    const id = uuid();
    outbox.push({ id, content });
    persist();
    bubble('user pending', content, id);
    els.input.value = '';
    autosize();
    if (idleClosed || !ws || ws.readyState > WebSocket.OPEN) { attempt = 0; connect(); } // the join resends the outbox
    else send({ type: 'message', id, content, stream: true });
  });
  els.input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); els.form.requestSubmit(); }
  });
  const autosize = () => { els.input.style.height = 'auto'; els.input.style.height = `${Math.min(160, els.input.scrollHeight)}px`; };
  els.input.addEventListener('input', autosize);
  els.newChat.addEventListener('click', () => resetSession(true));
  window.addEventListener('online', () => { if (!ws || ws.readyState > WebSocket.OPEN) { attempt = 0; connect(); } });

  loadSession();
  connect();
  els.input.focus();
})();
