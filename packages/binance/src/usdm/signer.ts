import { createHmac, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { OitraderError } from '@oitrader/core';

/**
 * Binance SIGNED requests: the signature covers the exact query string sent
 * (`totalParams`), appended as `&signature=…`.
 * - HMAC-SHA256 keys: hex digest keyed by the API secret.
 * - Ed25519 keys (Binance's recommended type): base64 of the Ed25519 signature
 *   with the private key (PEM in BINANCE_SECRET), URL-encoded.
 * node:crypto does both, so no dependency. The signer holds the key; it is
 * never part of a message, an error or a log line.
 */
export interface Signer {
  readonly kind: 'hmac-sha256' | 'ed25519';
  /** The value of the `signature` parameter, already URL-safe. */
  sign(payload: string): string;
}

export function createSigner(secret: string): Signer {
  if (secret === '') throw new OitraderError('no Binance secret (BINANCE_SECRET is empty)', { hint: 'set BINANCE_SECRET (HMAC secret, or an Ed25519 private key in PEM)', exitCode: 2 });
  if (secret.includes('PRIVATE KEY')) {
    let key: KeyObject;
    try {
      key = createPrivateKey(secret);
    } catch {
      throw new OitraderError('BINANCE_SECRET looks like a PEM private key but cannot be read', { hint: 'paste the whole PEM block including the BEGIN/END lines', exitCode: 2 });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new OitraderError(`BINANCE_SECRET is a ${key.asymmetricKeyType} key; only Ed25519 and HMAC keys are supported`, { hint: 'create an Ed25519 or HMAC API key on Binance', exitCode: 2 });
    return { kind: 'ed25519', sign: (payload) => encodeURIComponent(sign(null, Buffer.from(payload), key).toString('base64')) };
  }
  return { kind: 'hmac-sha256', sign: (payload) => createHmac('sha256', secret).update(payload).digest('hex') };
}
