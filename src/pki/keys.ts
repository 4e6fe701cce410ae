// Private keys for workloads (ECDSA P-256, as Istio's ztunnel uses) and for CAs (P-256, or RSA 2048 for plugged-in roots).
import crypto from 'node:crypto';
import { UnsupportedKey } from './errors';

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048';

export interface KeyPairPem {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  readonly publicKeyPem: string;
}

export function generateKeyPair(algorithm: KeyAlgorithm = 'ecdsa-p256'): KeyPairPem {
  switch (algorithm) {
    case 'ecdsa-p256':
    case 'ecdsa-p384': {
      const namedCurve = algorithm === 'ecdsa-p256' ? 'P-256' : 'P-384';
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', {
        namedCurve,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      return { privateKeyPem: privateKey, publicKeyPem: publicKey };
    }
    case 'rsa-2048': {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      return { privateKeyPem: privateKey, publicKeyPem: publicKey };
    }
  }
}

/** A fresh ECDSA P-256 private key in PKCS#8 PEM: what a workload certificate is requested for. */
export function generateWorkloadKey(): string {
  return generateKeyPair('ecdsa-p256').privateKeyPem;
}

/** The SPKI PEM of a private key (PKCS#8, SEC1 or PKCS#1 PEM). */
export function publicKeyPemOf(privateKeyPem: string): string {
  return crypto.createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}

/** The DER SubjectPublicKeyInfo of a public or private key, used to compare keys byte for byte. */
export function spkiDerOf(keyPem: string | crypto.KeyObject): Buffer {
  const key = typeof keyPem === 'string' ? crypto.createPublicKey(keyPem) : keyPem;
  const publicKey = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** Which algorithm a key is, or `UnsupportedKey` when ambit cannot sign or be signed for with it. */
export function keyAlgorithmOf(key: crypto.KeyObject): KeyAlgorithm | 'rsa' {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256';
    if (curve === 'secp384r1') return 'ecdsa-p384';
    throw new UnsupportedKey(`EC curve ${curve ?? 'unknown'}`);
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new UnsupportedKey(`RSA key of ${bits} bits (2048 or more needed)`);
    return bits === 2048 ? 'rsa-2048' : 'rsa';
  }
  throw new UnsupportedKey(`${key.asymmetricKeyType ?? 'unknown'} key`);
}
