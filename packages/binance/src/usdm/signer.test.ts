import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSigner } from './signer.ts';

describe('request signing', () => {
  it("reproduces Binance's documented HMAC-SHA256 example signature", () => {
    // developers.binance.com "SIGNED Endpoint Examples": this secret and query give this signature.
    const signer = createSigner('NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j');
    const query = 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559';
    assert.equal(signer.kind, 'hmac-sha256');
    assert.equal(signer.sign(query), 'c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71');
  });

  it('signs with an Ed25519 PEM key so that the public key verifies the URL-decoded base64 signature', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const payload = 'symbol=SOLUSDT&side=BUY&type=MARKET&quantity=1&timestamp=1';
    assert.equal(signer.kind, 'ed25519');
    const signature = Buffer.from(decodeURIComponent(signer.sign(payload)), 'base64');
    assert.ok(verify(null, Buffer.from(payload), publicKey, signature), 'Binance would refuse this signature with -1022');
  });

  it('refuses an empty secret or a non-Ed25519 PEM with a fix', () => {
    assert.throws(() => createSigner(''), /BINANCE_SECRET/);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(() => createSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), /only Ed25519 and HMAC/);
  });
});
