// The conversation's elements in the log: message bubbles (kept above the typing indicator),
// the typing indicator, and re-rendering a streaming reply — only that message, at most once per
// animation frame, so the rest of the transcript is never touched while a reply streams.
import { messageElement, rawOf, setText } from './render.js';

export function createTranscript(els, agentName) {
  let typingEl = null;
  const pendingRender = new Set();
  const refreshEmpty = () => (els.empty.hidden = els.log.querySelector('.msg') !== null);
  const scroll = () => (els.log.scrollTop = els.log.scrollHeight);

  function bubble(cls, text, meta) {
    const el = messageElement(cls, text, meta);
    if (typingEl) els.log.insertBefore(el, typingEl);
    else els.log.appendChild(el);
    refreshEmpty();
    scroll();
    return el;
  }

  function typing(on) {
    if (on && !typingEl) {
      typingEl = document.createElement('div');
      typingEl.className = 'typing';
      typingEl.innerHTML = '<i></i><i></i><i></i><span class="visually-hidden"></span>';
      typingEl.querySelector('span').textContent = `${agentName()} is writing`;
      els.log.appendChild(typingEl);
      scroll();
    } else if (!on && typingEl) {
      typingEl.remove();
      typingEl = null;
    }
  }

  function renderSoon(el) {
    if (pendingRender.has(el)) return;
    pendingRender.add(el);
    requestAnimationFrame(() => {
      pendingRender.delete(el);
      if (el.classList.contains('streaming')) setText(el, rawOf(el));
      scroll();
    });
  }

  return {
    bubble,
    typing,
    renderSoon,
    refreshEmpty,
    findMine: (id) => els.log.querySelector(`.msg.user[data-id="${CSS.escape(id)}"]`),
    /** Every message and the typing indicator out (switching sessions). */
    clear() {
      els.log.querySelectorAll('.msg, .typing').forEach((n) => n.remove());
      typingEl = null;
    },
  };
}
