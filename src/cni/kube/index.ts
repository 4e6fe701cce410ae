// Public surface of the CNI agent's Kubernetes side: its label source (informers), finding running pods' netns, and its flags.
// Kept out of src/cni/index.ts so that importing the CNI core never loads the control plane's Kubernetes source.
export { KubernetesPodLabelSource, nodePodOf, podLabelSourceKinds, type KubernetesPodLabelSourceOptions, type NodePod } from './pod-label-source';
export {
  DEFAULT_NETNS_DIR,
  matchRunningPods,
  parseIpv4Addresses,
  readNetnsAddresses,
  runningPodFinder,
  type NetnsAddressReader,
  type NetnsAddresses,
  type RunningPodFinderOptions,
  type RunningPodMatch,
  type UnmatchedPod,
} from './running-pods';
export { AGENT_USAGE, DEFAULT_AGENT_SOCKET, DEFAULT_ZTUNNEL_SOCKET, hostIpv4Addresses, parseAgentFlags, type KubeAgentFlags } from './agent-flags';
