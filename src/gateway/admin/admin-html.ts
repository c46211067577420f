/** The small server-rendered pages of `/admin/`: no script, one inline style sheet. */
import type { ListedDeadLetter } from '../../queue/dead-letters.js';
import type { QueuedSession } from '../../queue/stuck-sessions.js';

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:14px system-ui,sans-serif;margin:2rem;color:#1d1d1f}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.note{padding:.5rem .8rem;border-radius:4px;background:#eef5ff}.err{background:#fdecec}code{font-size:13px}`;

/** The pages' Content-Security-Policy: nothing but this page's own style and forms. */
export const ADMIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function loginPage(message?: string): string {
  return page(
    'bothost admin — sign in',
    `<h1>bothost admin</h1>${message ? `<p class="note err" role="alert">${esc(message)}</p>` : ''}
<form method="post" action="/admin/login"><label>Gateway token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button></form>
<p>A token of <code>gateway.auth.tokens</code> or one minted by <code>bot gateway token &lt;identity&gt;</code>, for an identity listed in <code>admin.identities</code>.</p>`,
  );
}

export function embeddedPage(identity: string): string {
  return page(
    'bothost admin',
    `<h1>bothost admin</h1><p>Signed in as <b>${esc(identity)}</b>.</p>
<p class="note">This host runs in embedded mode (the inline queue): turns live in this process's memory, so there is no queue,
no stuck-session list and no dead letters to show. The admin pages need distributed mode (<code>queue.backend: bullmq</code> with Redis).</p>`,
  );
}

const ago = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

export interface OverviewData {
  identity: string;
  queueName: string;
  draining: boolean;
  stuck: QueuedSession[];
  deadLetters: ListedDeadLetter[];
  notice?: { text: string; error: boolean };
}

export function overviewPage(d: OverviewData): string {
  const stuckRows = d.stuck
    .map((s) => `<tr><td><code>${esc(s.sessionId)}</code></td><td>${s.queuedTurns}</td><td>${ago(s.waitingMs)}</td><td>${s.kickPending ? 'kick pending' : 'no kick (the sweep re-kicks it)'}</td></tr>`)
    .join('');
  const deadRows = d.deadLetters
    .map((l) => {
      const r = l.record;
      const retry = r.request
        ? `<form method="post" action="/admin/dead-letters/retry"><input type="hidden" name="inboundId" value="${esc(r.inboundId)}"><button type="submit">Retry</button></form>`
        : 'not retryable';
      return `<tr><td>${l.n}</td><td>${esc(new Date(r.at).toISOString())}</td><td><code>${esc(r.sessionId)}</code></td><td><code>${esc(r.inboundId)}</code></td><td>${r.tries}</td><td>${esc(r.error.slice(0, 200))}</td><td>${retry}</td></tr>`;
    })
    .join('');
  return page(
    'bothost admin',
    `<h1>bothost admin</h1>
<div>Signed in as <b>${esc(d.identity)}</b>. Queue <code>${esc(d.queueName)}</code>${d.draining ? ' — <b>draining</b> (<code>bot queue resume</code> undoes it)' : ''}.
<a href="/admin/queues">Queue view (Bull Board)</a> · <form method="post" action="/admin/logout" style="display:inline"><button type="submit">Sign out</button></form></div>
${d.notice ? `<p class="note${d.notice.error ? ' err' : ''}" role="status">${esc(d.notice.text)}</p>` : ''}
<h2>Stuck sessions (${d.stuck.length})</h2>
<p>Turns queued, no worker holding the session's lease; oldest first.</p>
${d.stuck.length === 0 ? '<p>None.</p>' : `<table id="stuck"><tr><th>session</th><th>turns</th><th>oldest waiting</th><th>state</th></tr>${stuckRows}</table>`}
<h2>Dead letters (${d.deadLetters.length})</h2>
<p>Turns that failed for good, newest first. Retry runs one again as a new turn of its session, exactly once.</p>
${d.deadLetters.length === 0 ? '<p>None.</p>' : `<table id="dead-letters"><tr><th>#</th><th>when</th><th>session</th><th>inbound id</th><th>tries</th><th>error</th><th></th></tr>${deadRows}</table>`}`,
  );
}
