// What the page keeps in localStorage: the token, the current session, and per session its
// highest cursor, a short cache of its events (for an instant display after a reload) and the
// messages not yet acknowledged. Plus this browser's list of conversations for the sidebar.
const PREFIX = 'bothost.';
const KEEP = 300; // events cached per session

export const store = {
  get(key, fallback) {
    try {
      const v = localStorage.getItem(PREFIX + key);
      return v === null ? fallback : JSON.parse(v);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(PREFIX + key, JSON.stringify(value));
    } catch {
      // Full or disabled: the server still has everything.
    }
  },
  del(key) {
    try {
      localStorage.removeItem(PREFIX + key);
    } catch {
      // Disabled: nothing to remove.
    }
  },
};

export const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

/** One session's cached view. */
export function loadCache(sessionId) {
  const events = store.get(`events.${sessionId}`, []);
  return {
    // Nothing cached to show: ask for everything.
    cursor: events.length === 0 ? 0 : store.get(`cursor.${sessionId}`, 0),
    events,
    outbox: store.get(`outbox.${sessionId}`, []),
  };
}

export function saveCache(sessionId, cache) {
  if (cache.events.length > KEEP) cache.events = cache.events.slice(-KEEP);
  store.set(`cursor.${sessionId}`, cache.cursor);
  store.set(`events.${sessionId}`, cache.events);
  store.set(`outbox.${sessionId}`, cache.outbox);
}

export function dropCache(sessionId) {
  for (const k of ['cursor', 'events', 'outbox']) store.del(`${k}.${sessionId}`);
}

/** This browser's conversations: `{ id, title, updated }`, newest first. */
export const conversations = {
  all() {
    return store.get('conversations', []).sort((a, b) => b.updated - a.updated);
  },
  save(list) {
    store.set('conversations', list);
  },
  /** Add or update one; `title` only fills an empty one unless `rename`. */
  touch(id, { title, rename = false, updated = Date.now() } = {}) {
    const list = conversations.all();
    let c = list.find((x) => x.id === id);
    if (!c) list.push((c = { id, title: '', updated }));
    if (title && (rename || !c.title)) c.title = title;
    c.updated = Math.max(c.updated, updated);
    conversations.save(list);
    return c;
  },
  remove(id) {
    conversations.save(conversations.all().filter((x) => x.id !== id));
    dropCache(id);
  },
  /** The server's list (token identities) replaces ours; titles we have fill untitled ones. */
  replaceWith(serverList) {
    const mine = new Map(conversations.all().map((c) => [c.id, c]));
    conversations.save(serverList.map((s) => ({ id: s.session_id, title: s.title || mine.get(s.session_id)?.title || '', updated: s.updated_at })));
  },
};

/** A title from a first message: one line, at most 60 characters. */
export function titleFrom(text) {
  const line = text.trim().split('\n')[0].replace(/\s+/g, ' ');
  const chars = Array.from(line);
  return chars.length <= 60 ? line : `${chars.slice(0, 59).join('')}…`;
}
