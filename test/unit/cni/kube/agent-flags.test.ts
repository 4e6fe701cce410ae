// The Kubernetes CNI agent's command line: DaemonSet defaults, $NODE_NAME, repeatable probe sources and one-line usage errors.
import t from 'tap';
import { DEFAULT_AGENT_SOCKET, DEFAULT_ZTUNNEL_SOCKET, hostIpv4Addresses, parseAgentFlags } from '../../../../src/cni/kube/agent-flags';

const host = () => ['192.0.2.10', '198.51.100.4'];

t.test('the DaemonSet\'s arguments, with defaults for the rest', async (t) => {
  const flags = parseAgentFlags(['--node=node-a', '--agent-socket=/var/run/ambit/cni-agent.sock', '--ztunnel-socket=/var/run/ztunnel/ztunnel.sock'], {}, host);
  t.same(flags, { nodeName: 'node-a', agentSocket: DEFAULT_AGENT_SOCKET, ztunnelSocket: DEFAULT_ZTUNNEL_SOCKET, netnsDir: '/var/run/netns', probeSourceAddresses: ['192.0.2.10', '198.51.100.4'] });
});

t.test('$NODE_NAME stands in for --node, and --node wins over it', async (t) => {
  t.equal(parseAgentFlags([], { NODE_NAME: 'from-env' }, host).nodeName, 'from-env');
  t.equal(parseAgentFlags(['--node', 'flag'], { NODE_NAME: 'from-env' }, host).nodeName, 'flag');
  t.throws(() => parseAgentFlags([], {}, host), { code: 'USAGE', message: /missing --node \(or \$NODE_NAME\)/ });
});

t.test('--probe-source repeats and replaces the host addresses; each must be IPv4', async (t) => {
  let asked = false;
  const flags = parseAgentFlags(['--node=n', '--probe-source', '10.0.0.1', '--probe-source=10.0.0.2', '--probe-source=10.0.0.1'], {}, () => ((asked = true), []));
  t.same(flags.probeSourceAddresses, ['10.0.0.1', '10.0.0.2']);
  t.notOk(asked, 'the host is not asked when sources are given');
  t.throws(() => parseAgentFlags(['--node=n', '--probe-source=fd00::1'], {}, host), { code: 'USAGE', message: /--probe-source "fd00::1" is not an IPv4 address/ });
  t.throws(() => parseAgentFlags(['--node=n'], {}, () => []), { code: 'USAGE', message: /pass --probe-source/ });
});

t.test('kubeconfig, context and netns dir pass through; paths become absolute', async (t) => {
  const flags = parseAgentFlags(['--node=n', '--kubeconfig=kc', '--context=prod', '--netns-dir=/run/netns', '--agent-socket=/tmp/a.sock', '--ztunnel-socket=/tmp/z.sock'], {}, host);
  t.equal(flags.kubeconfig, `${process.cwd()}/kc`);
  t.equal(flags.context, 'prod');
  t.equal(flags.netnsDir, '/run/netns');
  t.equal(flags.agentSocket, '/tmp/a.sock');
});

t.test('mistakes name the flag to fix', async (t) => {
  t.throws(() => parseAgentFlags(['--node=n', '--nodes=x'], {}, host), { code: 'USAGE', message: /unknown flag --nodes/ });
  t.throws(() => parseAgentFlags(['--node=n', 'extra'], {}, host), { code: 'USAGE', message: /unexpected argument "extra"/ });
  t.throws(() => parseAgentFlags(['--node=n', '--agent-socket=/s', '--ztunnel-socket=/s'], {}, host), { code: 'USAGE', message: /must differ/ });
});

t.test('host addresses: IPv4, not internal, no duplicates', async (t) => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '', cidr: '127.0.0.1/8' }],
    eth0: [
      { address: '192.0.2.2', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '', cidr: '192.0.2.2/24' },
      { address: 'fd00::2', family: 'IPv6', internal: false, netmask: 'ffff::', mac: '', cidr: 'fd00::2/64', scopeid: 0 },
    ],
    eth1: [{ address: '192.0.2.2', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '', cidr: '192.0.2.2/24' }],
  } as ReturnType<typeof import('node:os').networkInterfaces>;
  t.same(hostIpv4Addresses(interfaces), ['192.0.2.2']);
});
