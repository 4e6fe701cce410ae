// CaStore: generating and reloading ambit's own root, using Istio plug-in CA files, and the errors for bad files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CaFileError, CaStore } from '../../../../src/controlplane/ca';
import { certInfo, generateKeyPair, normalizeCertificatePem, spiffeIdFor, verifyChain } from '../../../../src/pki';
import { makePluginCa, openssl, signCert } from './fixtures/openssl-ca';

const identity = spiffeIdFor('cluster.local', 'bookinfo', 'reviews');

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-ca-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function issueFrom(store: CaStore): string[] {
  return store.issue({ publicKeyPem: generateKeyPair().publicKeyPem, sans: { uris: [identity] }, ttlSeconds: 3600 });
}

async function openError(dir: string, now?: Date): Promise<CaFileError> {
  try {
    await CaStore.open(dir, { trustDomain: 'cluster.local', ...(now ? { now } : {}) });
  } catch (error) {
    if (error instanceof CaFileError) return error;
    throw error;
  }
  throw new Error('CaStore.open succeeded but should have failed');
}

t.test('first open generates a root with an owner-only key; a later open reloads the same root', async (t) => {
  const dir = path.join(tempDir(t), 'ca');
  const first = await CaStore.open(dir, { trustDomain: 'cluster.local' });
  t.equal(first.mode, 'self-signed');
  t.equal(first.generated, true);
  t.same(fs.readdirSync(dir).sort(), ['root-cert.pem', 'root-key.pem'], 'no temporary files left behind');
  t.equal(fs.statSync(path.join(dir, 'root-key.pem')).mode & 0o777, 0o600);
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const root = certInfo(first.rootPem);
  t.equal(root.isCa, true);
  t.equal(root.subject, 'O=cluster.local');
  t.equal(normalizeCertificatePem(fs.readFileSync(path.join(dir, 'root-cert.pem'), 'utf8')), first.rootPem);

  const second = await CaStore.open(dir, { trustDomain: 'cluster.local' });
  t.equal(second.generated, false);
  t.equal(second.rootPem, first.rootPem);
  const chain = issueFrom(second);
  t.equal(chain.length, 2, '[leaf, root]');
  t.equal(chain[1], first.rootPem);
  t.same(verifyChain(chain[0] ?? '', chain.slice(1), first.rootPems), { ok: true }, 'the reloaded CA signs under the original root');
});

t.test('Istio plug-in CA files: the intermediate signs and appears in every chain', async (t) => {
  const dir = tempDir(t);
  makePluginCa(dir);
  const store = await CaStore.open(dir, { trustDomain: 'cluster.local' });
  t.equal(store.mode, 'plug-in');
  t.equal(store.generated, false);
  t.notOk(fs.existsSync(path.join(dir, 'root-key.pem')), 'nothing generated beside plug-in files');
  const chain = issueFrom(store);
  t.equal(chain.length, 3, '[leaf, intermediate, root]');
  t.equal(chain[1], normalizeCertificatePem(fs.readFileSync(path.join(dir, 'ca-cert.pem'), 'utf8')));
  t.equal(chain[2], normalizeCertificatePem(fs.readFileSync(path.join(dir, 'root-cert.pem'), 'utf8')));
  t.equal(certInfo(chain[0] ?? '').issuer, 'O=cluster.local, CN=Intermediate CA');
  t.same(verifyChain(chain[0] ?? '', chain.slice(1), store.rootPems), { ok: true });
  fs.writeFileSync(path.join(dir, 'leaf.pem'), chain[0] ?? '');
  fs.writeFileSync(path.join(dir, 'untrusted.pem'), chain[1] ?? '');
  const verified = openssl(['verify', '-CAfile', 'root-cert.pem', '-untrusted', 'untrusted.pem', 'leaf.pem'], { cwd: dir });
  t.equal(verified.trim(), 'leaf.pem: OK');
  t.match(openssl(['x509', '-noout', '-text', '-in', 'leaf.pem'], { cwd: dir }), /Signature Algorithm: sha256WithRSAEncryption/, 'signed by the RSA intermediate');
});

t.test('a plug-in CA without cert-chain.pem chains through ca-cert.pem alone', async (t) => {
  const dir = tempDir(t);
  makePluginCa(dir, { intermediateKey: 'ec', certChain: false });
  const store = await CaStore.open(dir, { trustDomain: 'cluster.local' });
  const chain = issueFrom(store);
  t.equal(chain.length, 3);
  t.same(verifyChain(chain[0] ?? '', chain.slice(1), store.rootPems), { ok: true });
});

t.test('bad plug-in files are reported with the file and the problem', async (t) => {
  t.test('certificate without key', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    fs.rmSync(path.join(dir, 'ca-key.pem'));
    const error = await openError(dir);
    t.equal(error.code, 'CA_KEY_MISSING');
    t.equal(error.file, path.join(dir, 'ca-cert.pem'));
    t.equal(error.message, `${dir}/ca-cert.pem: no private key for this CA certificate; expected ${dir}/ca-key.pem`);
  });

  t.test('key that does not match the certificate', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    fs.writeFileSync(path.join(dir, 'ca-key.pem'), generateKeyPair('rsa-2048').privateKeyPem);
    const error = await openError(dir);
    t.equal(error.code, 'CA_KEY_MISMATCH');
    t.equal(error.message, `${dir}/ca-key.pem: does not match the public key of ${dir}/ca-cert.pem`);
  });

  t.test('certificate that is not a CA', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    signCert(dir, { keyFile: 'ca-key.pem', subject: '/CN=not-a-ca', out: 'ca-cert.pem', ca: false });
    const error = await openError(dir);
    t.equal(error.code, 'CA_NOT_A_CA');
    t.equal(error.message, `${dir}/ca-cert.pem: is not a CA certificate (basicConstraints CA:TRUE is missing), so it cannot sign workload certificates`);
  });

  t.test('expired CA certificate', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    const notAfter = certInfo(fs.readFileSync(path.join(dir, 'ca-cert.pem'), 'utf8')).notAfter;
    const error = await openError(dir, new Date(notAfter.getTime() + 1000));
    t.equal(error.code, 'CA_EXPIRED');
    t.equal(error.message, `${dir}/ca-cert.pem: expired on ${notAfter.toISOString()}; replace it with a valid CA certificate`);
  });

  t.test('root-cert.pem missing', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    fs.rmSync(path.join(dir, 'root-cert.pem'));
    const error = await openError(dir);
    t.equal(error.code, 'CA_FILE_MISSING');
    t.equal(error.message, `${dir}/root-cert.pem: missing; a plug-in CA (ca-cert.pem, ca-key.pem) also needs the root it chains to`);
  });

  t.test('root-cert.pem holding a different root', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir, { certChain: false });
    const other = tempDir(t);
    makePluginCa(other);
    fs.copyFileSync(path.join(other, 'root-cert.pem'), path.join(dir, 'root-cert.pem'));
    const error = await openError(dir);
    t.equal(error.code, 'CA_CHAIN_BROKEN');
    t.equal(
      error.message,
      `${dir}/ca-cert.pem: does not lead from ca-cert.pem to a root in root-cert.pem: certificate 0 (O=cluster.local, CN=Intermediate CA) is not signed by any trusted root`,
    );
  });

  t.test('a file that holds no certificate', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    fs.writeFileSync(path.join(dir, 'ca-cert.pem'), 'hello\n');
    const error = await openError(dir);
    t.equal(error.code, 'CA_FILE_UNREADABLE');
    t.equal(error.message, `${dir}/ca-cert.pem: holds no PEM "CERTIFICATE" block`);
  });

  t.test('a key file that is not a key', async (t) => {
    const dir = tempDir(t);
    makePluginCa(dir);
    fs.writeFileSync(path.join(dir, 'ca-key.pem'), fs.readFileSync(path.join(dir, 'ca-cert.pem')));
    const error = await openError(dir);
    t.equal(error.message, `${dir}/ca-key.pem: is not a PEM private key (PKCS#8, PKCS#1 or SEC1)`);
  });
});

t.test('ambit root files that do not belong together are reported, not overwritten', async (t) => {
  t.test('root certificate without its key', async (t) => {
    const dir = tempDir(t);
    await CaStore.open(dir, { trustDomain: 'cluster.local' });
    fs.rmSync(path.join(dir, 'root-key.pem'));
    const error = await openError(dir);
    t.equal(error.code, 'CA_KEY_MISSING');
    t.equal(
      error.message,
      `${dir}/root-cert.pem: no private key for this root; expected ${dir}/root-key.pem (or plug-in files ca-cert.pem and ca-key.pem)`,
    );
    t.notOk(fs.existsSync(path.join(dir, 'root-key.pem')));
  });

  t.test('root key without its certificate', async (t) => {
    const dir = tempDir(t);
    await CaStore.open(dir, { trustDomain: 'cluster.local' });
    fs.rmSync(path.join(dir, 'root-cert.pem'));
    const error = await openError(dir);
    t.equal(error.code, 'CA_FILE_MISSING');
    t.equal(error.message, `${dir}/root-key.pem: has no certificate beside it; expected ${dir}/root-cert.pem (remove the key to let ambit generate a new root)`);
  });

  t.test('expired ambit root', async (t) => {
    const dir = tempDir(t);
    const store = await CaStore.open(dir, { trustDomain: 'cluster.local', rootTtlDays: 1 });
    const notAfter = certInfo(store.rootPem).notAfter;
    const error = await openError(dir, new Date(notAfter.getTime() + 1000));
    t.equal(error.message, `${dir}/root-cert.pem: expired on ${notAfter.toISOString()}; replace it with a valid CA certificate`);
  });

  t.test('an RSA root written by openssl is loaded as ambit\'s own', async (t) => {
    const dir = tempDir(t);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root-key.pem', '-out', 'root-cert.pem', '-subj', '/O=cluster.local', '-days', '30',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
    ], { cwd: dir, stdio: 'ignore' });
    const store = await CaStore.open(dir, { trustDomain: 'cluster.local' });
    t.equal(store.generated, false);
    const chain = issueFrom(store);
    t.same(verifyChain(chain[0] ?? '', chain.slice(1), store.rootPems), { ok: true });
  });
});
