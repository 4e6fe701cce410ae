// Names of everything a local cluster creates on the host, derived from the cluster name so that a sweep can find them all.
import path from 'node:path';

const CLUSTER_NAME = /^[a-z][a-z0-9]{0,15}$/;

export class InvalidClusterName extends Error {
  readonly code = 'INVALID_CLUSTER_NAME';
  constructor(readonly clusterName: string) {
    super(`invalid cluster name "${clusterName}": use 1-16 lowercase letters and digits, starting with a letter (no dashes, so one cluster's names never prefix another's)`);
  }
}

/** Host-visible names of one local cluster: netns names and their /etc/netns directories. */
export class ClusterNames {
  readonly fabric: string;
  readonly controlPlane: string;
  private readonly ownPattern: RegExp;

  constructor(readonly cluster: string) {
    if (!CLUSTER_NAME.test(cluster)) throw new InvalidClusterName(cluster);
    this.fabric = `${cluster}-fabric`;
    this.controlPlane = `${cluster}-controlplane`;
    this.ownPattern = new RegExp(`^${cluster}-(fabric|controlplane|node-\\d+|pod-.+)$`);
  }

  node(index: number): string {
    return `node-${index}`;
  }

  nodeNetns(nodeName: string): string {
    return `${this.cluster}-${nodeName}`;
  }

  /** Namespaces are DNS labels (no dots), so the dot keeps "a-b"/"c" and "a"/"b-c" apart. */
  podNetns(namespace: string, podName: string): string {
    return `${this.cluster}-pod-${namespace}.${podName}`;
  }

  /** True for every netns name this cluster may have made, and for no other cluster's. */
  owns(netnsName: string): boolean {
    return this.ownPattern.test(netnsName);
  }

  static etcNetnsDir(netnsName: string): string {
    return path.join('/etc/netns', netnsName);
  }
}
