// Certificates: roots and leaves that OpenSSL accepts with the fields Istio uses, certInfo, and chain verification.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  CLOCK_SKEW_SECONDS,
  CertificateIssuer,
  InvalidCertificate,
  certInfo,
  generateKeyPair,
  generateRootCa,
  issueLeafCertificate,
  spiffeIdFor,
  verifyChain,
} from '../../../src/pki';

const identity = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-cert-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a generated root is a self-signed CA named after the trust domain', async (t) => {
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 3650 });
  const text = openssl(['x509', '-noout', '-text'], root.certPem);
  t.match(text, /Issuer: O = cluster.local\n/);
  t.match(text, /Subject: O = cluster.local\n/);
  t.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
  t.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  t.match(text, /X509v3 Subject Key Identifier/);
  t.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  const info = certInfo(root.certPem);
  t.equal(info.isCa, true);
  t.equal(info.issuer, 'O=cluster.local');
  t.equal(info.notAfter.getTime() - info.notBefore.getTime(), (3650 * 86_400 + CLOCK_SKEW_SECONDS) * 1000);
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'root.pem'), root.certPem);
  t.equal(openssl(['verify', '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'root.pem')]).trim(), `${path.join(dir, 'root.pem')}: OK`);
});

t.test('a workload leaf carries the SPIFFE SAN, Istio key usages and the requested lifetime', async (t) => {
  const now = new Date('2030-01-01T12:00:00.250Z');
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 365, now });
  const key = generateKeyPair();
  const leaf = issueLeafCertificate({ issuer: root, publicKeyPem: key.publicKeyPem, sans: { uris: [identity] }, ttlSeconds: 3600, now });
  const text = openssl(['x509', '-noout', '-text'], leaf);
  t.match(text, /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster.local\/ns\/bookinfo\/sa\/reviews\n/);
  t.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
  t.match(text, /X509v3 Extended Key Usage: \s*TLS Web Server Authentication, TLS Web Client Authentication\n/);
  t.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE\n/);
  t.match(text, /X509v3 Authority Key Identifier/);
  t.match(text, /Subject: *\n/);
  const info = certInfo(leaf);
  t.same(info.spiffeIds, [identity]);
  t.same(info.uriSans, [identity]);
  t.equal(info.isCa, false);
  t.equal(info.notBefore.toISOString(), '2030-01-01T11:55:00.000Z', 'five minutes of clock skew');
  t.equal(info.notAfter.toISOString(), '2030-01-01T13:00:00.000Z');
  t.match(info.serial, /^[0-9A-F]{32}$/);
  t.equal(info.issuer, 'O=cluster.local');
  t.equal(info.subject, '');

  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'root.pem'), root.certPem);
  fs.writeFileSync(path.join(dir, 'leaf.pem'), leaf);
  const attime = String(Math.floor(now.getTime() / 1000));
  t.equal(openssl(['verify', '-attime', attime, '-CAfile', path.join(dir, 'root.pem'), path.join(dir, 'leaf.pem')]).trim(), `${path.join(dir, 'leaf.pem')}: OK`);
  t.same(verifyChain(leaf, [], [root.certPem], now), { ok: true });
});

t.test('serving certificates carry DNS and IP SANs; an RSA root signs with sha256WithRSA', async (t) => {
  const root = generateRootCa({ trustDomain: 'example.org', ttlDays: 30, keyAlgorithm: 'rsa-2048' });
  const key = generateKeyPair();
  const leaf = issueLeafCertificate({
    issuer: root,
    publicKeyPem: key.publicKeyPem,
    sans: { dnsNames: ['ambit-controlplane'], ipAddresses: ['127.0.0.1', '::1'] },
    ttlSeconds: 600,
  });
  const text = openssl(['x509', '-noout', '-text'], leaf);
  t.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(text, /DNS:ambit-controlplane, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
  const info = certInfo(leaf);
  t.same(info.dnsNames, ['ambit-controlplane']);
  t.same(info.ipAddresses, ['127.0.0.1', '::1']);
  t.same(info.spiffeIds, []);
  t.same(verifyChain(leaf, [root.certPem], [root.certPem]), { ok: true }, 'a root repeated in the chain is skipped');
});

t.test('a leaf never outlives its issuer', async (t) => {
  const now = new Date('2031-05-01T00:00:00Z');
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1, now });
  const leaf = issueLeafCertificate({ issuer: root, publicKeyPem: generateKeyPair().publicKeyPem, sans: { uris: [identity] }, ttlSeconds: 7 * 86_400, now });
  t.equal(certInfo(leaf).notAfter.toISOString(), certInfo(root.certPem).notAfter.toISOString());
});

t.test('the issuer must be a CA whose key matches', async (t) => {
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 });
  const other = generateKeyPair();
  t.throws(() => new CertificateIssuer({ certPem: root.certPem, keyPem: other.privateKeyPem }), {
    code: 'INVALID_CERTIFICATE',
    message: 'invalid certificate: the issuer key does not match the public key of O=cluster.local',
  });
  const leafKey = generateKeyPair();
  const leaf = issueLeafCertificate({ issuer: root, publicKeyPem: leafKey.publicKeyPem, sans: { uris: [identity] }, ttlSeconds: 60 });
  t.throws(() => new CertificateIssuer({ certPem: leaf, keyPem: leafKey.privateKeyPem }), {
    message: 'invalid certificate: issuer  is not a CA certificate (basicConstraints CA:TRUE is missing)',
  });
  t.throws(() => issueLeafCertificate({ issuer: root, publicKeyPem: leafKey.publicKeyPem, sans: {}, ttlSeconds: 60 }), InvalidCertificate);
  t.throws(() => certInfo('not a certificate'), InvalidCertificate);
});

t.test('verifyChain says why a chain does not verify', async (t) => {
  const now = new Date('2032-03-01T00:00:00Z');
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 10, now });
  const stranger = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 10, now });
  const leaf = issueLeafCertificate({ issuer: root, publicKeyPem: generateKeyPair().publicKeyPem, sans: { uris: [identity] }, ttlSeconds: 3600, now });
  t.same(verifyChain(leaf, [], [stranger.certPem], now), { ok: false, reason: 'certificate 0 (serial ' + certInfo(leaf).serial + ') is not signed by any trusted root' });
  const later = new Date(now.getTime() + 2 * 3600_000);
  const expired = verifyChain(leaf, [], [root.certPem], later);
  t.equal(expired.ok, false);
  t.match(!expired.ok && expired.reason, /^certificate 0 \(serial [0-9A-F]+\) expired at 2032-03-01T01:00:00.000Z$/);
  t.same(verifyChain(leaf, [], [], now), { ok: false, reason: 'no trusted root certificates were given' });
  const notCa = verifyChain(leaf, [leaf], [root.certPem], now);
  t.match(!notCa.ok && notCa.reason, /certificate 1 \(serial [0-9A-F]+\) is not a CA but appears as an issuer in the chain/);
});
