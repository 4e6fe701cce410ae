// Local mode's side of ambient capture: a store-backed label source for the CNI agents, and calling ambit-cni as a runtime would.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { PodSpec, Resource } from '../api';
import type { PodInfo, PodLabelSource } from '../cni/agent';
import type { DirectoryStore } from './store/directory-store';

/** Pod and namespace labels from the directory store; listeners hear about every store change (the agent re-evaluates). */
export class StorePodLabelSource implements PodLabelSource {
  private readonly listeners = new Set<() => void>();
  private lastSignature = '';
  private unwatch: (() => void) | undefined;

  constructor(private readonly store: DirectoryStore) {}

  start(): void {
    this.lastSignature = this.signature();
    this.unwatch = this.store.watch(() => {
      // Only label/annotation changes matter to capture; status churn (readiness) must not make agents re-evaluate.
      const signature = this.signature();
      if (signature === this.lastSignature) return;
      this.lastSignature = signature;
      for (const listener of this.listeners) listener();
    });
  }

  stop(): void {
    this.unwatch?.();
  }

  podInfo(namespace: string, name: string): PodInfo | undefined {
    const pod = this.store.get('Pod', namespace, name) as Resource<PodSpec> | undefined;
    if (!pod) return undefined;
    const ns = this.store.get('Namespace', undefined, namespace);
    return {
      uid: pod.metadata.uid ?? '',
      labels: pod.metadata.labels ?? {},
      annotations: pod.metadata.annotations ?? {},
      serviceAccount: (pod.spec as PodSpec).serviceAccountName ?? '',
      namespaceLabels: ns?.metadata.labels ?? {},
      hostNetwork: (pod.spec as PodSpec).hostNetwork === true,
    };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private signature(): string {
    const parts: string[] = [];
    for (const [key, object] of this.store.read().objects) {
      if (object.kind === 'Pod' || object.kind === 'Namespace') parts.push(key, JSON.stringify(object.metadata.labels ?? {}), JSON.stringify(object.metadata.annotations ?? {}));
    }
    return parts.join('\n');
  }
}

export class CniPluginFailed extends Error {
  readonly code = 'CNI_PLUGIN_FAILED';
}

export interface CniInvocation {
  readonly command: 'ADD' | 'DEL' | 'CHECK';
  readonly pod: Resource;
  readonly netnsPath: string;
  readonly ip: string;
  readonly gateway: string;
  readonly agentSocket: string;
}

const PLUGIN = path.join(__dirname, '..', '..', '..', 'bin', 'ambit-cni');

/** Runs ambit-cni exactly as a container runtime runs a chained plugin: CNI_* environment, config with prevResult on stdin. */
export function runCniPlugin(invocation: CniInvocation): Promise<string> {
  const { pod } = invocation;
  const config = {
    cniVersion: '1.0.0',
    name: 'ambit',
    type: 'ambit-cni',
    agentSocket: invocation.agentSocket,
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: invocation.netnsPath }],
      ips: [{ address: `${invocation.ip}/32`, gateway: invocation.gateway, interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', gw: invocation.gateway }],
    },
  };
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: invocation.command,
    CNI_CONTAINERID: pod.metadata.uid ?? pod.metadata.name,
    CNI_NETNS: invocation.netnsPath,
    CNI_IFNAME: 'eth0',
    CNI_PATH: path.dirname(PLUGIN),
    CNI_ARGS: `K8S_POD_NAMESPACE=${pod.metadata.namespace};K8S_POD_NAME=${pod.metadata.name};K8S_POD_UID=${pod.metadata.uid ?? ''}`,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PLUGIN], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout);
      let message = stderr.trim() || `exit ${code}`;
      try {
        const parsed = JSON.parse(stdout) as { msg?: string; details?: string; code?: number };
        message = `${parsed.msg ?? message}${parsed.details ? `: ${parsed.details}` : ''} (CNI code ${parsed.code})`;
      } catch {
        // not JSON: keep stderr
      }
      reject(new CniPluginFailed(`ambit-cni ${invocation.command} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed: ${message}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(config));
  });
}
