// The Pod status the runtime publishes (a subset of Kubernetes' PodStatus), and how to read it back.
import type { Resource } from '../api';

export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state: { running?: { startedAt: string }; waiting?: { reason: string }; terminated?: { exitCode: number | null; reason: string } };
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  conditions?: { type: 'Ready' | 'PodScheduled'; status: 'True' | 'False' }[];
  containerStatuses?: ContainerStatus[];
}

export function podStatus(pod: Resource): PodStatus | undefined {
  return pod.status as PodStatus | undefined;
}

export function podIp(pod: Resource): string | undefined {
  return podStatus(pod)?.podIP;
}

export function isPodReady(pod: Resource): boolean {
  return podStatus(pod)?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}
