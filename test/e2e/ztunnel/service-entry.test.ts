// End to end: a ServiceEntry whose VIP is unused and whose endpoint is a pod outside the mesh is reachable by name from a mesh pod, through its ztunnel.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { waitFor } from '../../helpers/cluster';
import { marker, MeshCluster, type CurlResult } from './mesh-cluster';

const HOST = 'echo.external.test';
/** Inside the local service range but never allocated by the tests' clusters (allocation starts at the bottom). */
const VIP = '10.96.200.77';

t.test('a mesh client reaches a ServiceEntry host through its ztunnel', async (t) => {
  const mesh = await MeshCluster.start(t);
  const echo = mesh.pod('outside', 'echo');
  const clientA = mesh.pod('mesh', 'client-a');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-se-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'service-entry.yaml');
  fs.writeFileSync(
    file,
    [
      'apiVersion: networking.istio.io/v1',
      'kind: ServiceEntry',
      'metadata: { name: external-echo, namespace: mesh }',
      'spec:',
      `  hosts: [${HOST}]`,
      `  addresses: [${VIP}]`,
      '  location: MESH_EXTERNAL',
      '  resolution: STATIC',
      '  ports:',
      '  - { number: 80, name: http, protocol: HTTP, targetPort: 8080 }',
      '  endpoints:',
      `  - address: ${echo.ip}`,
      '',
    ].join('\n'),
  );
  const applied = await mesh.cluster.ambit(['apply', '-f', file]);
  t.equal(applied.code, 0, `ambit apply: ${applied.stderr}`);

  // The pod's hosts file names the entry's host once the runtime has seen it.
  let hosts = '';
  await waitFor(async () => (hosts = (await mesh.cluster.exec('client-a', 'mesh', ['cat', '/etc/hosts'])).stdout).includes(HOST), 20_000, () => `no ${HOST} in client-a's hosts file:\n${hosts}`);
  t.match(hosts, new RegExp(`^${VIP.replaceAll('.', '\\.')}\\t${HOST.replaceAll('.', '\\.')}$`, 'm'), 'the host resolves to the entry\'s VIP inside the pod');

  // The ztunnel learns the entry by push; retry until the request goes through.
  const since = mesh.logMark('node-1');
  const secret = marker('service-entry');
  let result: CurlResult = { code: -1, stderr: 'not tried' };
  await waitFor(async () => (result = await mesh.curl('mesh', 'client-a', `http://${HOST}/${secret}`)).reply !== undefined, 20_000, () => `curl ${HOST}: ${result.stderr}`);
  t.equal(result.reply?.pod, 'echo', `the entry's endpoint answered (${result.stderr})`);
  t.equal(result.reply?.namespace, 'outside');
  t.equal(result.reply?.path, `/${secret}`);
  t.equal(result.reply?.from, clientA.ip, 'plain TCP to a non-mesh endpoint, dialled from the client pod\'s own address');

  const lines = await mesh.waitForAccess('node-1', since, (line) => line.direction === 'outbound' && line['dst.service'] === HOST && line['dst.addr'] === `${echo.ip}:8080`, 'the outbound connection to the entry');
  t.equal(lines[0]['src.addr'].split(':')[0], clientA.ip, 'the client ztunnel logged the connection from client-a');
});
