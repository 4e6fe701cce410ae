// Builds the cluster's nodes: one netns per node, joined by a bridge that lives in ambit's own fabric netns (never the host's).
import type { AddressPlan } from './address-plan';
import type { ClusterNames } from './cluster-names';
import { createNetns, destroyNetns } from './netns';
import { ipBatch } from './shell';

const NODE_SYSCTLS = {
  'net.ipv4.ip_forward': '1',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
};

/** Creates the fabric netns (bridge `br0`), the control-plane netns and every node netns with its routes to the others' pods. */
export async function createNodeNetworks(names: ClusterNames, plan: AddressPlan): Promise<void> {
  await createNetns(names.fabric);
  await ipBatch(['link add br0 type bridge', 'link set br0 up'], names.fabric);

  await attachToFabric(names, names.controlPlane, 'cp', plan.controlPlaneIp, plan);
  // Pods (waypoints) talk to the control plane too: it needs the way back to every node's pods.
  await ipBatch(plan.nodes.map((node) => `route add ${node.podCidr} via ${node.underlayIp} dev eth0`), names.controlPlane);
  for (const [index, node] of plan.nodes.entries()) {
    const netns = names.nodeNetns(node.name);
    await attachToFabric(names, netns, `n${index + 1}`, node.underlayIp, plan);
    const routes = plan.nodes.filter((other) => other !== node).map((other) => `route add ${other.podCidr} via ${other.underlayIp} dev eth0`);
    await ipBatch(routes, netns);
  }
}

async function attachToFabric(names: ClusterNames, netns: string, fabricPort: string, ip: string, plan: AddressPlan): Promise<void> {
  await createNetns(netns, NODE_SYSCTLS);
  // Created inside the node netns with its peer moved straight into the fabric: neither end ever appears in the host netns.
  await ipBatch([`link add eth0 type veth peer name ${fabricPort} netns ${names.fabric}`, `addr add ${ip}/${plan.underlayPrefixLength} dev eth0`, 'link set eth0 up'], netns);
  await ipBatch([`link set ${fabricPort} master br0`, `link set ${fabricPort} up`], names.fabric);
}

export async function destroyNodeNetworks(names: ClusterNames, plan: AddressPlan): Promise<void> {
  for (const node of plan.nodes) await destroyNetns(names.nodeNetns(node.name));
  await destroyNetns(names.controlPlane);
  await destroyNetns(names.fabric);
}
