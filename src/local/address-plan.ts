// The local cluster's address plan. Every range lives only inside netns that ambit creates; the host never routes to them.

export interface NodeAddresses {
  readonly name: string;
  /** Address of the node on the fabric bridge (the "underlay" between nodes). */
  readonly underlayIp: string;
  /** CIDR pods on this node are numbered from. */
  readonly podCidr: string;
  /** First three octets of the pod CIDR, for numbering pods. */
  readonly podPrefix: string;
}

export interface AddressPlan {
  readonly underlayCidr: string;
  readonly underlayPrefixLength: number;
  readonly controlPlaneIp: string;
  readonly serviceCidr: string;
  readonly nodes: readonly NodeAddresses[];
  /** Link-local gateway every pod routes through; answered by its node's veth (static neighbour). */
  readonly podGateway: string;
  /** Fixed MAC of every node-side pod veth, so pods can pin the gateway's neighbour entry. */
  readonly podGatewayMac: string;
}

export const MAX_NODES = 50;

export function addressPlan(nodeCount: number): AddressPlan {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new RangeError(`--nodes must be an integer from 1 to ${MAX_NODES}, got ${nodeCount}`);
  }
  const nodes: NodeAddresses[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    nodes.push({ name: `node-${i}`, underlayIp: `10.99.0.${10 + i}`, podCidr: `10.44.${i}.0/24`, podPrefix: `10.44.${i}` });
  }
  return {
    underlayCidr: '10.99.0.0/24',
    underlayPrefixLength: 24,
    controlPlaneIp: '10.99.0.2',
    serviceCidr: '10.96.0.0/16',
    nodes,
    podGateway: '169.254.1.1',
    podGatewayMac: 'ee:ee:ee:ee:ee:ee',
  };
}

/** Allocates pod addresses from one node's /24, lowest free first (.1 is reserved). */
export class PodIpAllocator {
  private readonly used = new Set<number>();

  constructor(private readonly node: NodeAddresses) {}

  allocate(): string {
    for (let host = 2; host < 255; host++) {
      if (!this.used.has(host)) {
        this.used.add(host);
        return `${this.node.podPrefix}.${host}`;
      }
    }
    throw new Error(`node ${this.node.name} has no free pod address left in ${this.node.podCidr}`);
  }

  release(ip: string): void {
    const host = Number(ip.split('.')[3]);
    this.used.delete(host);
  }
}

/** Allocates Service ClusterIPs from the service CIDR, skipping network, gateway-like and broadcast addresses. */
export function allocateClusterIp(serviceCidr: string, taken: ReadonlySet<string>): string {
  const [base] = serviceCidr.split('/');
  const [a, b] = base.split('.');
  for (let third = 0; third < 256; third++) {
    for (let fourth = third === 0 ? 10 : 1; fourth < 255; fourth++) {
      const ip = `${a}.${b}.${third}.${fourth}`;
      if (!taken.has(ip)) return ip;
    }
  }
  throw new Error(`service CIDR ${serviceCidr} is exhausted`);
}

export function ipInCidr(ip: string, cidr: string): boolean {
  const [base, lengthText] = cidr.split('/');
  const length = Number(lengthText);
  const toInt = (s: string) => s.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
  const mask = length === 0 ? 0 : (~0 << (32 - length)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base) & mask) >>> 0);
}
