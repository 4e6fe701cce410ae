// CSRs: ours must be what OpenSSL (and istiod) accept, and we must read and check CSRs that others made.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { InvalidCsr, createCsr, generateKeyPair, readCsr, spiffeIdFor } from '../../../src/pki';

const identity = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

t.test('an ECDSA P-256 CSR with one URI SAN verifies in OpenSSL', async (t) => {
  const key = generateKeyPair('ecdsa-p256');
  const csr = createCsr(key.privateKeyPem, identity);
  const text = execFileSync('openssl', ['req', '-verify', '-noout', '-text'], { input: csr, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  t.match(text, /Public Key Algorithm: id-ecPublicKey/);
  t.match(text, /NIST CURVE: P-256/);
  t.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(text, /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster.local\/ns\/bookinfo\/sa\/reviews\s/);
  t.notMatch(text, /DNS:|IP Address:/);
  const read = readCsr(csr);
  t.same(read.uriSans, [identity]);
  t.equal(read.publicKeyPem, key.publicKeyPem);
});

t.test('RSA and P-384 keys also make verifiable CSRs', async (t) => {
  for (const algorithm of ['rsa-2048', 'ecdsa-p384'] as const) {
    const key = generateKeyPair(algorithm);
    const csr = createCsr(key.privateKeyPem, identity);
    const verify = execFileSync('openssl', ['req', '-verify', '-noout'], { input: csr, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    t.equal(verify, '', `${algorithm}: nothing on stdout`);
    t.same(readCsr(csr).uriSans, [identity], algorithm);
  }
});

t.test('a CSR made by OpenSSL is read with its SANs', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-csr-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'key.pem');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  const csr = openssl(['req', '-new', '-key', keyFile, '-subj', '/', '-addext', `subjectAltName=URI:${identity},DNS:reviews.bookinfo.svc,IP:10.0.0.7,IP:fd00::1`]);
  const read = readCsr(csr);
  t.same(read.uriSans, [identity]);
  t.same(read.dnsNames, ['reviews.bookinfo.svc']);
  t.same(read.ipAddresses, ['10.0.0.7', 'fd00::1']);
  t.equal(read.publicKeyPem, openssl(['pkey', '-in', keyFile, '-pubout']));
});

t.test('a tampered or foreign CSR is refused with INVALID_CSR', async (t) => {
  const key = generateKeyPair();
  const csr = createCsr(key.privateKeyPem, identity);
  const der = Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  // Change one byte of the SAN inside the signed part: the signature must no longer verify.
  const at = der.indexOf(Buffer.from('reviews'));
  der[at] = 'R'.charCodeAt(0);
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const error = t.throws(() => readCsr(tampered), InvalidCsr) as InvalidCsr;
  t.equal(error.code, 'INVALID_CSR');
  t.equal(error.message, 'invalid certificate signing request: its signature does not verify against its own public key');

  t.throws(() => readCsr('hello'), { message: 'invalid certificate signing request: no "CERTIFICATE REQUEST" PEM block found' });
  const garbage = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from('not der at all').toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  t.throws(() => readCsr(garbage), InvalidCsr);
});
