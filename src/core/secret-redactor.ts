/**
 * Removes known secret values from text: the one place every log line and every printed error
 * passes through (principle: never print secrets). It knows values, not shapes — whoever loads
 * the configuration tells it which values are secret (src/host/secrets.ts) — and matches each
 * value as written, URL-encoded (a token inside a request URL, `%3A` for `:`) and JSON-escaped
 * (inside a serialized log line).
 *
 * @example
 * const r = new SecretRedactor(['123:ABC']);
 * r.redact('failed for /bot123:ABC/sendMessage'); // 'failed for /bot[redacted]/sendMessage'
 */
export const REDACTED = '[redacted]';

/** Values shorter than this are not treated as secrets: redacting "on" or "1" would garble every line. */
export const MIN_SECRET_LENGTH = 6;

export class SecretRedactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;

  constructor(secrets: Iterable<string> = []) {
    this.add(secrets);
  }

  /** How many distinct forms (values and their encodings) are redacted. */
  get size(): number {
    return this.values.size;
  }

  /** Adds values to redact from now on; short or empty ones are ignored. */
  add(secrets: Iterable<string>): this {
    const before = this.values.size;
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
      for (const form of formsOf(secret)) this.values.add(form);
    }
    if (this.values.size !== before) {
      // Longest first, so a secret containing another is removed whole.
      const sorted = [...this.values].sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
    }
    return this;
  }

  redact(text: string): string {
    if (!this.pattern || text.length < MIN_SECRET_LENGTH) return text;
    return text.replace(this.pattern, REDACTED);
  }
}

function formsOf(secret: string): string[] {
  const encoded = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  return [secret, encoded, encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()), json, JSON.stringify(json).slice(1, -1)];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
