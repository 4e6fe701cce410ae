// The local runtime's primary pod network (the job a CNI such as Calico's ptp mode does): a netns, a veth to its node, a /32 and routes.
import { createHash } from 'node:crypto';
import type { AddressPlan } from './address-plan';
import { createNetns, destroyNetns } from './netns';
import { ipBatch } from './shell';

export interface PodAttachment {
  readonly netns: string;
  readonly nodeNetns: string;
  readonly ip: string;
  /** Name of the pod's veth end inside its node netns. */
  readonly hostVeth: string;
}

/** Interface names are capped at 15 bytes, so the node-side veth is named by a hash of the pod netns. */
export function hostVethName(podNetns: string): string {
  return `v${createHash('sha1').update(podNetns).digest('hex').slice(0, 12)}`;
}

export async function attachPod(plan: AddressPlan, nodeNetns: string, podNetns: string, ip: string): Promise<PodAttachment> {
  const hostVeth = hostVethName(podNetns);
  await destroyNetns(podNetns); // a leftover from a crashed run must not make this pod fail
  await createNetns(podNetns);
  await ipBatch(
    [
      `link add ${hostVeth} type veth peer name eth0 netns ${podNetns}`,
      `link set ${hostVeth} address ${plan.podGatewayMac}`,
      `link set ${hostVeth} up`,
      `route add ${ip}/32 dev ${hostVeth}`,
    ],
    nodeNetns,
  );
  await ipBatch(
    [
      `addr add ${ip}/32 dev eth0`,
      'link set eth0 up',
      `route add ${plan.podGateway} dev eth0 scope link`,
      `neigh replace ${plan.podGateway} lladdr ${plan.podGatewayMac} dev eth0 nud permanent`,
      `route add default via ${plan.podGateway} dev eth0 src ${ip}`,
    ],
    podNetns,
  );
  return { netns: podNetns, nodeNetns, ip, hostVeth };
}

/** Removes the pod netns; its veth pair goes with it, and the node's /32 route with the veth. */
export async function detachPod(podNetns: string): Promise<void> {
  await destroyNetns(podNetns);
}
