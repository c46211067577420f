/**
 * Preloaded into a process by the bench (`node --import …/stall-log.js`) to find what stalls slow
 * turns: records every GC pause, and every event-loop stall (a 1 ms timer that fired late by more
 * than 2 ms), as `<pid> <kind> <epoch start ms> <duration ms>` lines appended to $STALL_LOG_FILE
 * on exit, to be laid over the slow turns' windows ($BENCH_TURNS_FILE) on the same clock.
 */
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.STALL_LOG_FILE;
if (file) {
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
  };
  const lines: string[] = [];
  const epoch = (t: number) => (performance.timeOrigin + t).toFixed(3);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // A GC entry's detail (kind, flags) is not in PerformanceEntry's typings.
      const kind = kinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
      lines.push(`${process.pid} ${kind} ${epoch(e.startTime)} ${e.duration.toFixed(3)}`);
    }
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 3) lines.push(`${process.pid} loop ${epoch(last + 1)} ${(now - last - 1).toFixed(3)}`);
    last = now;
  }, 1).unref();
  process.on('exit', () => appendFileSync(file, lines.join('\n') + '\n'));
}
