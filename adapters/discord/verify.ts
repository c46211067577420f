/**
 * Ed25519 verification of Discord's HTTP interaction requests (`X-Signature-Ed25519` over
 * `X-Signature-Timestamp` + raw body, with the application's public key from the developer
 * portal). This adapter receives interactions over the gateway, where Discord does not sign
 * them, so nothing here is on its path today; it is the check an HTTP interactions endpoint
 * must make before reading a body (401 on failure — Discord sends bad signatures on purpose).
 */
import { createPublicKey, verify } from 'node:crypto';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX = /^[0-9a-f]+$/i;

/**
 * True when `signatureHex` is the application's signature of `timestamp + body`.
 * @example verifyInteractionSignature(publicKeyHex, req.headers['x-signature-ed25519'], req.headers['x-signature-timestamp'], rawBody)
 */
export function verifyInteractionSignature(publicKeyHex: string, signatureHex: string | undefined, timestamp: string | undefined, body: string | Buffer): boolean {
  if (!signatureHex || !timestamp || !HEX.test(signatureHex) || signatureHex.length !== 128 || !HEX.test(publicKeyHex) || publicKeyHex.length !== 64) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]), format: 'der', type: 'spki' });
    return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]), key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}
