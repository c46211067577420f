/**
 * The signal a turn runs under: aborted when the lease is lost or the turn takes longer than
 * `ms` (with a TimeoutError, which is retried). Cheaper per turn than AbortSignal.any + timeout.
 */
export function turnLimit(lease: AbortSignal, ms: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onLost = () => controller.abort(lease.reason);
  if (lease.aborted) onLost();
  else lease.addEventListener('abort', onLost, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException(`the turn took longer than ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      lease.removeEventListener('abort', onLost);
    },
  };
}
