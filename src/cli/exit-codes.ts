/** The exit codes of every `bot` command: 0 done, 1 failed, 2 a usage or config error. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });
