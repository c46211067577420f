/** Bench output: a table for people and one JSON line per figure for machines. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What it is judged by, e.g. "≤ 1.5× empty" or "PraisonAI: 144 ms". */
  target?: string;
  /** Whether the figure meets its target (omitted when there is no target). */
  pass?: boolean;
  extra?: Record<string, unknown>;
}

export class Report {
  readonly figures: Figure[] = [];

  add(figure: Figure): void {
    this.figures.push(figure);
    process.stdout.write(`${JSON.stringify({ bench: figure.name, value: round(figure.value), unit: figure.unit, target: figure.target, pass: figure.pass, ...figure.extra })}\n`);
  }

  table(): string {
    const rows = this.figures.map((f) => [f.name, `${round(f.value)} ${f.unit}`, f.target ?? '', f.pass === undefined ? '' : f.pass ? 'ok' : 'MISS']);
    const head = ['figure', 'value', 'target / reference', ''];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
    return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
  }
}

export function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Events per second from the first to the last timestamp (ms): excludes start-up on both sides. */
export function rate(times: Iterable<number>): number {
  const t = [...times].sort((a, b) => a - b);
  return ((t.length - 1) / (t.at(-1)! - t[0]!)) * 1000;
}

/** Milliseconds elapsed while `fn` runs. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * Open-loop arrivals: calls `arrive(i)` for i = 0 … total-1 at `rate` per second, on schedule
 * whatever the system under test does (sleeping only when more than 1 ms ahead).
 */
export async function openLoop(rate: number, total: number, arrive: (i: number) => void): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = start + (i / rate) * 1000 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    arrive(i);
  }
}
