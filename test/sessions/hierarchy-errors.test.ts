/** The hierarchy's error messages an operator acts on: the delete hint is a command to copy. */
import { describe, expect, it } from 'vitest';
import { SessionHasChildrenError } from '../../src/sessions/hierarchy/errors.js';

describe('SessionHasChildrenError', () => {
  it('names the session in the --recursive command, quoted for a shell when it needs to be', () => {
    expect(new SessionHasChildrenError('bot_web_a.b', ['c']).message).toMatch(/delete them all with: bot session delete bot_web_a\.b --recursive$/);
    expect(new SessionHasChildrenError("it's mine $HOME", ['c']).message).toMatch(/delete them all with: bot session delete 'it'\\''s mine \$HOME' --recursive$/);
    expect(new SessionHasChildrenError('p', ['c', 'd']).message).toMatch(/^session "p" has 2 fork\(s\) built on its history \("c", "d"\)/);
  });
});
