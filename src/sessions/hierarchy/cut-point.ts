/** Where a fork is cut: a cursor, a message index, or (default) the whole history. */
import { InvalidCursorError } from './errors.js';
import type { ForkOptions } from './hierarchy-types.js';
import { containsCursor, cursorAtIndex, lastIssued, trimToWindow, viewLength, type View } from './view.js';

/** The view cursor of the last message a fork of this view inherits (0: none). */
export function resolveCutPoint(sessionId: string, fullView: View, ownLast: number, window: number, options: ForkOptions): number {
  const name = JSON.stringify(sessionId);
  if (options.fromCursor !== undefined && options.fromMessageIndex !== undefined) {
    throw new InvalidCursorError('give fromCursor or fromMessageIndex, not both');
  }
  const view = trimToWindow(fullView, ownLast, window);
  if (options.fromMessageIndex !== undefined) {
    const n = options.fromMessageIndex;
    const count = Math.min(viewLength(view, ownLast), window);
    if (!Number.isSafeInteger(n) || n < 0 || n > count) throw new InvalidCursorError(`message index ${n} is out of range: session ${name} has ${count} messages`);
    return n === 0 ? 0 : cursorAtIndex(view, ownLast, window, n - 1)!;
  }
  if (options.fromCursor !== undefined) {
    const c = options.fromCursor;
    if (!Number.isSafeInteger(c) || c < 0 || !containsCursor(view, ownLast, c)) {
      throw new InvalidCursorError(`session ${name} has no message at cursor ${c}; see the cursors with: bot session show`);
    }
    return c;
  }
  return lastIssued(fullView, ownLast);
}
