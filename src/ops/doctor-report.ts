/**
 * What `bot doctor` finds, and how it is shown: one line per check (✓ / ⚠ / ✗), the fix under
 * every ⚠ and ✗, or the same as JSON. Details and fixes never carry a secret: checks build them
 * from names and addresses, and `redactSecrets` scrubs any text that came from outside.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Short name of what was checked: `node`, `store`, `redis policy`, `model (assistant)`, `bot telegram`. */
  check: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, for ⚠ and ✗. */
  fix?: string;
}

export const ok = (check: string, detail: string): CheckResult => ({ check, status: 'ok', detail });
export const warn = (check: string, detail: string, fix?: string): CheckResult => ({ check, status: 'warn', detail, ...(fix ? { fix } : {}) });
export const fail = (check: string, detail: string, fix: string): CheckResult => ({ check, status: 'fail', detail, fix });

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '⚠', fail: '✗' };

/** Replaces every secret (at least 4 characters) in `text` with `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

export function formatTable(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.check.length), 5);
  const lines = results.map((r) => {
    const head = `${MARK[r.status]} ${r.check.padEnd(width)}  ${r.detail}`;
    return r.fix ? `${head}\n  ${' '.repeat(width)}  fix: ${r.fix}` : head;
  });
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  const summary = failed > 0 ? `${failed} problem(s) to fix, ${warned} warning(s)` : warned > 0 ? `no problems; ${warned} warning(s)` : 'all good';
  return `${lines.join('\n')}\n\n${summary}\n`;
}

export function formatJson(results: readonly CheckResult[]): string {
  return `${JSON.stringify({ ok: results.every((r) => r.status !== 'fail'), checks: results }, null, 2)}\n`;
}
