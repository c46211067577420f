/**
 * What a child process promotes to the old generation, read from its `--trace-gc-nvp` lines on
 * stdout: bytes moved out of the young generation by each scavenge, and the mark-compacts that
 * the promoted bytes bring on (each one stalls every turn in flight).
 *
 * The child stamps its lines in ms since its heap was set up; they are mapped to this process's
 * `performance.now()` by the time it was spawned, so a window is placed to within the child's
 * start-up (tens of ms), well inside the seconds a bench phase lasts.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Node flags that make a child print what GcTrace reads. */
export const GC_TRACE_ARGS = ['--trace-gc-nvp'] as const;

interface GcEvent {
  /** This process's performance.now() at the GC. */
  at: number;
  kind: string;
  promoted: number;
}

export class GcTrace {
  private readonly events: GcEvent[] = [];

  /** `forward`: other stdout lines of the child are written to this process's stdout. */
  constructor(child: ChildProcess, spawnedAt: number, forward = false) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /\]\s+([\d.]+) ms: .*\bgc=(\w+)\b/.exec(line);
      if (!m) {
        if (forward) process.stdout.write(`${line}\n`);
        return;
      }
      const promoted = Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? 0);
      this.events.push({ at: spawnedAt + Number(m[1]), kind: m[2]!, promoted });
    });
  }

  /** Bytes promoted by scavenges, and mark-compacts run, between two times of this process. */
  window(from: number, to: number): { promoted: number; markCompacts: number } {
    let promoted = 0;
    let markCompacts = 0;
    for (const e of this.events) {
      if (e.at < from || e.at > to) continue;
      if (e.kind === 's') promoted += e.promoted;
      else if (e.kind === 'mc') markCompacts++;
    }
    return { promoted, markCompacts };
  }
}
