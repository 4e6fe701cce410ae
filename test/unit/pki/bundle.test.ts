// Trust bundles and the TLS options built from a workload identity, exercised with a real mutual-TLS 1.3 handshake.
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import {
  TrustBundle,
  certInfo,
  generateKeyPair,
  generateRootCa,
  issueLeafCertificate,
  spiffeIdFor,
  tlsContextFor,
  type CaKeyPair,
  type TlsIdentity,
} from '../../../src/pki';

function identityFrom(root: CaKeyPair, service: string): TlsIdentity {
  const key = generateKeyPair();
  const leaf = issueLeafCertificate({
    issuer: root,
    publicKeyPem: key.publicKeyPem,
    sans: { uris: [spiffeIdFor('cluster.local', 'bookinfo', service)] },
    ttlSeconds: 3600,
  });
  return { keyPem: key.privateKeyPem, certChainPems: [leaf, root.certPem], rootPems: [root.certPem] };
}

interface HandshakeResult {
  readonly serverSawPeer: string | undefined;
  readonly clientSawPeer: string | undefined;
  readonly protocol: string | null;
  readonly alpn: string | false | null;
}

async function handshake(t: { teardown(fn: () => void): void }, server: TlsIdentity, client: TlsIdentity): Promise<HandshakeResult> {
  const uriOf = (socket: tls.TLSSocket): string | undefined => {
    const peer = socket.getPeerX509Certificate();
    return peer ? certInfo(peer.toString()).uriSans[0] : undefined;
  };
  let serverSawPeer: string | undefined;
  const listener = tls.createServer({ ...tlsContextFor(server), ALPNProtocols: ['h2'], requestCert: true, rejectUnauthorized: true }, (socket) => {
    serverSawPeer = uriOf(socket);
    socket.end('hi');
  });
  t.teardown(() => listener.close());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as AddressInfo).port;
  return new Promise<HandshakeResult>((resolve, reject) => {
    const socket = tls.connect({
      ...tlsContextFor(client),
      host: '127.0.0.1',
      port,
      ALPNProtocols: ['h2'],
      // Mesh peers are checked by SPIFFE ID, not host name.
      checkServerIdentity: () => undefined,
    });
    socket.on('error', reject);
    socket.on('secureConnect', () => {
      const result = { clientSawPeer: uriOf(socket), protocol: socket.getProtocol(), alpn: socket.alpnProtocol };
      socket.once('data', () => {
        socket.end();
        resolve({ ...result, serverSawPeer });
      });
    });
  });
}

t.test('two identities from one root complete mutual TLS 1.3 and see each other\'s SPIFFE IDs', async (t) => {
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 });
  const result = await handshake(t, identityFrom(root, 'reviews'), identityFrom(root, 'productpage'));
  t.same(result, {
    serverSawPeer: 'spiffe://cluster.local/ns/bookinfo/sa/productpage',
    clientSawPeer: 'spiffe://cluster.local/ns/bookinfo/sa/reviews',
    protocol: 'TLSv1.3',
    alpn: 'h2',
  });
});

t.test('a peer from another root is refused', async (t) => {
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 });
  const stranger = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 });
  await t.rejects(handshake(t, identityFrom(root, 'reviews'), identityFrom(stranger, 'productpage')), {
    code: /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE)$/,
  });
});

t.test('tlsContextFor presents leaf and intermediates but not the root', async (t) => {
  const root = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 });
  const identity = identityFrom(root, 'ratings');
  const options = tlsContextFor(identity);
  t.equal(options.cert, identity.certChainPems[0]);
  t.same(options.ca, [root.certPem]);
  t.equal(options.minVersion, 'TLSv1.3');
  t.throws(() => tlsContextFor({ ...identity, certChainPems: [] }), { code: 'INVALID_CERTIFICATE' });
});

t.test('a trust bundle splits, dedupes and recognises roots', async (t) => {
  const a = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1 });
  const b = generateRootCa({ trustDomain: 'cluster.local', ttlDays: 1, keyAlgorithm: 'rsa-2048' });
  const bundle = TrustBundle.fromPem(`# roots\n${a.certPem}\n${b.certPem.replace(/\n/g, '\r\n')}${a.certPem}`);
  t.equal(bundle.rootPems.length, 2);
  t.ok(bundle.contains(b.certPem));
  t.equal(bundle.toPem(), a.certPem + b.certPem);
  t.notOk(bundle.contains(generateRootCa({ trustDomain: 'x', ttlDays: 1 }).certPem));
});
