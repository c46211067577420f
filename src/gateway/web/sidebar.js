// The conversation list: newest first, the current one marked (aria-current), each with Rename
// and Delete. Renaming edits the title in place (Enter saves, Escape cancels).

/**
 * `actions`: { open(id), rename(id, title), remove(id) }. Returns `render(list, currentId)`.
 */
export function createSidebar(ul, actions) {
  function item(c, current) {
    const li = document.createElement('li');
    li.className = 'conversation';
    li.dataset.id = c.id;
    const title = c.title || 'New chat';
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'open';
    open.textContent = title;
    open.title = title;
    if (c.id === current) open.setAttribute('aria-current', 'page');
    open.addEventListener('click', () => actions.open(c.id));
    const rename = button('✎', `Rename “${title}”`, () => startRename(li, open, c));
    const remove = button('✕', `Delete “${title}”`, () => {
      if (window.confirm(`Delete “${title}”? Its messages are removed from the server too.`)) actions.remove(c.id);
    });
    const tools = document.createElement('span');
    tools.className = 'tools';
    tools.append(rename, remove);
    li.append(open, tools);
    return li;
  }

  function button(text, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tool';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.title = label;
    b.addEventListener('click', onClick);
    return b;
  }

  function startRename(li, open, c) {
    const input = document.createElement('input');
    input.type = 'text';
    input.className = 'rename';
    input.value = c.title || '';
    input.maxLength = 120;
    input.setAttribute('aria-label', 'New title (Enter saves, Escape cancels)');
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== c.title) actions.rename(c.id, title);
      else input.replaceWith(open);
      li.querySelector('.open, .rename')?.focus();
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        finish(true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        ev.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
    open.replaceWith(input);
    input.focus();
    input.select();
  }

  return function render(list, currentId) {
    // Keep keyboard focus on the same conversation across a re-render.
    const focusedId = document.activeElement?.closest?.('.conversation')?.dataset.id;
    ul.replaceChildren(...list.map((c) => item(c, currentId)));
    if (focusedId) ul.querySelector(`.conversation[data-id="${CSS.escape(focusedId)}"] .open`)?.focus();
  };
}
