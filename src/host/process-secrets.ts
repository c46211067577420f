/**
 * The process-wide secret redactor and the hook that passes stdout/stderr through it — kept
 * apart from the logger so the CLI installs them without loading pino.
 */
import { SecretRedactor } from '../core/secret-redactor.js';

/**
 * The secrets of this process, filled in by whoever loads the configuration (the CLI's
 * `loadForCommand`) and read at write time, so loggers created earlier redact them too. It is
 * process-wide on purpose: everything the process prints must be covered, including lines of
 * loggers built by code that is never handed a redactor.
 */
export const processSecrets = new SecretRedactor();

/**
 * Makes every string or buffer written to `stream` (stdout, stderr: the CLI's own lines, error
 * reports, anything a library prints) pass through `redactor`.
 */
export function redactWrites(stream: NodeJS.WriteStream, redactor: SecretRedactor = processSecrets): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') return write(redactor.redact(chunk), ...rest);
    if (chunk instanceof Uint8Array && redactor.size > 0) {
      const text = Buffer.from(chunk).toString('utf8');
      const redacted = redactor.redact(text);
      return write(redacted === text ? chunk : Buffer.from(redacted), ...rest);
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
