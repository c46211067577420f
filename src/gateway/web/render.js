// Turning events into message elements. Replies are Markdown: parsed by marked, then sanitised
// by DOMPurify, so no HTML a model writes (script, handlers, javascript: links) reaches the page;
// code blocks are highlighted by highlight.js and get a copy button. A streaming reply re-renders
// only its own element, at most once per animation frame.

const markdownReady = () => typeof window.marked !== 'undefined' && typeof window.DOMPurify !== 'undefined';
const SANITIZE = { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'img'], FORBID_ATTR: ['style'] };

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const formatTime = (ms) => timeFormat.format(new Date(ms));

/** Set a message's text: plain for users and notices, Markdown for replies. */
export function setText(el, text) {
  el.dataset.raw = text;
  const body = el.querySelector('.body') ?? el;
  if (!el.classList.contains('assistant') || !markdownReady()) {
    body.textContent = text;
    return;
  }
  const html = window.marked.parse(text, { gfm: true, breaks: true, async: false });
  el.classList.add('md');
  body.innerHTML = window.DOMPurify.sanitize(html, SANITIZE);
  for (const a of body.querySelectorAll('a')) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
  }
  for (const pre of body.querySelectorAll('pre')) decorateCode(pre);
}

export const rawOf = (el) => el.dataset.raw ?? el.textContent;

function decorateCode(pre) {
  const code = pre.querySelector('code');
  if (code && window.hljs) {
    const lang = [...code.classList].find((c) => c.startsWith('language-'))?.slice(9);
    if (lang && window.hljs.getLanguage(lang)) code.innerHTML = window.hljs.highlight(code.textContent, { language: lang, ignoreIllegals: true }).value;
    else code.innerHTML = window.hljs.highlightAuto(code.textContent).value;
    code.classList.add('hljs');
  }
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'copy';
  copy.textContent = 'Copy';
  copy.setAttribute('aria-label', `Copy code${code?.className.match(/language-(\S+)/)?.[1] ? ` (${code.className.match(/language-(\S+)/)[1]})` : ''}`);
  copy.addEventListener('click', () => {
    const text = code?.textContent ?? '';
    navigator.clipboard?.writeText(text).then(
      () => {
        copy.textContent = 'Copied';
        setTimeout(() => (copy.textContent = 'Copy'), 1500);
      },
      () => (copy.textContent = 'Copy failed'),
    );
  });
  pre.appendChild(copy);
}

/**
 * A message element: `.msg.<cls>` with a `.body`, a time shown on hover (and in `title`), and
 * for replies a footer for "stopped" and actions.
 */
export function messageElement(cls, text, { id, ts } = {}) {
  const div = document.createElement('div');
  div.className = `msg ${cls}`;
  const body = document.createElement('div');
  body.className = 'body';
  div.appendChild(body);
  if (id) div.dataset.id = id;
  setTime(div, ts);
  setText(div, text);
  return div;
}

export function setTime(el, ts) {
  if (!ts) return;
  let t = el.querySelector(':scope > time');
  if (!t) {
    t = document.createElement('time');
    el.appendChild(t);
  }
  t.dateTime = new Date(ts).toISOString();
  t.textContent = formatTime(ts);
  el.title = `${el.classList.contains('user') ? 'Sent' : 'Received'} ${formatTime(ts)}`;
}

/** The footer of a message (actions like Retry, the "stopped" mark), created on demand. */
export function footerOf(el) {
  let f = el.querySelector(':scope > .actions');
  if (!f) {
    f = document.createElement('div');
    f.className = 'actions';
    el.appendChild(f);
  }
  return f;
}

export function markStopped(el) {
  el.classList.add('stopped');
  const f = footerOf(el);
  if (!f.querySelector('.stopped-mark')) {
    const mark = document.createElement('span');
    mark.className = 'stopped-mark';
    mark.textContent = 'stopped';
    f.prepend(mark);
  }
}

export function addAction(el, label, accessibleName, onClick) {
  const f = footerOf(el);
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'action';
  b.textContent = label;
  b.setAttribute('aria-label', accessibleName);
  b.addEventListener('click', onClick);
  f.appendChild(b);
  return b;
}
