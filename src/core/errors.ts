/**
 * The error hierarchy. Every error has a stable `code` (safe to match on) and a message that
 * tells the operator what to do next. Messages never contain secrets.
 */
export class BotHostError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A session id that no store will accept (empty, too long). Hostile but encodable ids are fine. */
export class InvalidSessionIdError extends BotHostError {
  constructor(reason: string) {
    super('INVALID_SESSION_ID', `invalid session id: ${reason}`);
  }
}

/** bots.yaml (or an option) is wrong; `path` is the YAML path, `line` 1-based when known. */
export class ConfigError extends BotHostError {
  constructor(
    message: string,
    readonly path: string = '',
    readonly line?: number,
    readonly file?: string,
  ) {
    super('CONFIG_INVALID', message);
  }
}

/** A store could not do its job (disk full, corrupt beyond repair, backend down). */
export class StoreError extends BotHostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_FAILED', message, options);
  }
}

/** The cross-process lock on a session could not be taken in time. */
export class LockTimeoutError extends BotHostError {
  constructor(what: string, waitedMs: number) {
    super('LOCK_TIMEOUT', `could not lock ${what} within ${waitedMs} ms; another process holds it`);
  }
}

/** The model endpoint failed; `retryable` says whether trying again may help. */
export class ModelError extends BotHostError {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super('MODEL_FAILED', message, options);
  }
}

/** A name in a command or config does not exist; the message lists the choices. */
export class UnknownNameError extends BotHostError {
  constructor(kind: string, name: string, choices: readonly string[]) {
    super('UNKNOWN_NAME', `unknown ${kind} "${name}"; choose one of: ${choices.join(', ') || '(none configured)'}`);
  }
}

/**
 * The session's lease passed to another holder: stop the turn and send nothing. `fenced` is true
 * when a commit was rejected by its fencing token (a newer holder already committed), false when
 * the held lease was found lost (a renewal failed or found another token) before any commit.
 */
export class LeaseLostError extends BotHostError {
  private constructor(
    message: string,
    readonly fenced: boolean,
  ) {
    super('LEASE_LOST', message);
  }

  /** A commit under `fence` was rejected: `highestFence` was already seen. */
  static fenced(sessionId: string, fence: number, highestFence: number): LeaseLostError {
    return new LeaseLostError(`lease on ${sessionId} was lost (fence ${fence} < ${highestFence}); the turn is discarded`, true);
  }

  /** The held lease must be presumed lost (`why`): the abort reason of its signal. */
  static released(sessionId: string, fence: number, why: string): LeaseLostError {
    return new LeaseLostError(`lease on session ${JSON.stringify(sessionId.slice(0, 80))} (fence ${fence}) was lost: ${why}; stop the turn and send nothing`, false);
  }
}
