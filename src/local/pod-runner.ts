// Runs one pod's containers in its netns, probes their readiness and reports the pod's status.
import path from 'node:path';
import type { Container, EnvVar, PodSpec, Resource } from '../api';
import { SOURCE_DIR_ANNOTATION } from './deployment-controller';
import type { PodAttachment } from './pod-network';
import type { ContainerStatus, PodStatus } from './pod-status';
import { effectiveReadinessProbe, runProbe } from './probes';
import type { ProcessSupervisor } from './supervisor';

export interface PodRunnerOptions {
  readonly nodeName: string;
  readonly hostIp: string;
  readonly logDir: string;
  readonly probeIntervalMs: number;
}

/** Kubernetes' `$(VAR)` expansion in command, args and env values; `$$(VAR)` escapes it. */
export function expandVariables(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name] : match;
  });
}

function fieldValue(fieldPath: string, pod: Resource<PodSpec>, ip: string, options: PodRunnerOptions): string {
  const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelMatch) return (labelMatch[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[labelMatch[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid ?? '';
    case 'spec.nodeName': return options.nodeName;
    case 'spec.serviceAccountName': return serviceAccountOf(pod);
    case 'status.podIP':
    case 'status.podIPs': return ip;
    case 'status.hostIP':
    case 'status.hostIPs': return options.hostIp;
    default: return '';
  }
}

export function serviceAccountOf(pod: Resource<PodSpec>): string {
  const spec = pod.spec as PodSpec;
  return spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
}

export function containerEnv(pod: Resource<PodSpec>, container: Container, ip: string, options: PodRunnerOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/root',
    HOSTNAME: pod.metadata.name,
    POD_NAME: pod.metadata.name,
    POD_NAMESPACE: pod.metadata.namespace ?? 'default',
    POD_IP: ip,
    NODE_NAME: options.nodeName,
    SERVICE_ACCOUNT: serviceAccountOf(pod),
  };
  for (const variable of container.env ?? ([] as EnvVar[])) {
    env[variable.name] = variable.valueFrom ? fieldValue(variable.valueFrom.fieldRef.fieldPath, pod, ip, options) : expandVariables(variable.value ?? '', env);
  }
  return env;
}

export class PodRunner {
  private readonly ready = new Map<string, boolean>();
  private probeTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startTime = new Date().toISOString();
  private readonly problems = new Map<string, string>();

  constructor(
    readonly pod: Resource<PodSpec>,
    readonly attachment: PodAttachment,
    private readonly supervisor: ProcessSupervisor,
    private readonly options: PodRunnerOptions,
    private readonly onChange: () => void,
  ) {}

  processId(container: Container): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}/${container.name}`;
  }

  start(): void {
    const spec = this.pod.spec as PodSpec;
    const sourceDir = this.pod.metadata.annotations?.[SOURCE_DIR_ANNOTATION];
    for (const container of spec.containers) {
      this.ready.set(container.name, false);
      const env = containerEnv(this.pod, container, this.attachment.ip, this.options);
      const argv = [...(container.command ?? []), ...(container.args ?? [])].map((part) => expandVariables(part, env));
      if (argv.length === 0) {
        // Local mode has no images to take an entrypoint from.
        this.problems.set(container.name, 'container has no command: local mode runs container.command/args, not images');
        continue;
      }
      this.supervisor.start({
        id: this.processId(container),
        netns: this.attachment.netns,
        command: argv[0],
        args: argv.slice(1),
        env,
        cwd: container.workingDir ?? sourceDir ?? process.cwd(),
        logFile: path.join(this.options.logDir, `${this.pod.metadata.namespace}_${this.pod.metadata.name}_${container.name}.log`),
        restartPolicy: spec.restartPolicy ?? 'Always',
      });
    }
    this.scheduleProbes(0);
  }

  private scheduleProbes(delayMs: number): void {
    if (this.stopped) return;
    this.probeTimer = setTimeout(() => void this.probeAll(), delayMs);
  }

  private async probeAll(): Promise<void> {
    const spec = this.pod.spec as PodSpec;
    let changed = false;
    for (const container of spec.containers) {
      const running = this.supervisor.status(this.processId(container))?.state === 'running';
      const probe = effectiveReadinessProbe(container);
      const ok = running && (!probe || (await runProbe(probe, container, { nodeNetns: this.attachment.nodeNetns, podIp: this.attachment.ip })));
      if (this.ready.get(container.name) !== ok) {
        this.ready.set(container.name, ok);
        changed = true;
      }
    }
    if (changed) this.onChange();
    const allReady = [...this.ready.values()].every(Boolean);
    this.scheduleProbes(allReady ? this.options.probeIntervalMs * 5 : this.options.probeIntervalMs);
  }

  status(): PodStatus {
    const spec = this.pod.spec as PodSpec;
    const containerStatuses: ContainerStatus[] = spec.containers.map((container) => {
      const process = this.supervisor.status(this.processId(container));
      const problem = this.problems.get(container.name);
      const state: ContainerStatus['state'] = problem
        ? { waiting: { reason: problem } }
        : process?.state === 'running'
          ? { running: { startedAt: process.startedAt ?? this.startTime } }
          : process?.state === 'terminated'
            ? { terminated: { exitCode: process.lastExitCode ?? null, reason: process.reason ?? 'Error' } }
            : { waiting: { reason: process?.reason ?? 'ContainerCreating' } };
      return { name: container.name, ready: this.ready.get(container.name) ?? false, restartCount: process?.restarts ?? 0, state };
    });
    const allReady = containerStatuses.every((container) => container.ready);
    const allDone = containerStatuses.every((container) => container.state.terminated);
    const phase: PodStatus['phase'] = allDone ? (containerStatuses.every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed') : 'Running';
    return {
      phase,
      hostIP: this.options.hostIp,
      podIP: this.attachment.ip,
      podIPs: [{ ip: this.attachment.ip }],
      startTime: this.startTime,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: allReady ? 'True' : 'False' },
      ],
      containerStatuses,
    };
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const spec = this.pod.spec as PodSpec;
    await Promise.all(spec.containers.map((container) => this.supervisor.stop(this.processId(container), graceMs)));
  }
}
