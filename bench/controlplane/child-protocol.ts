// Messages between the benchmark and the control-plane child process it measures (Node IPC channel).

export interface ChildConfig {
  readonly storeDir: string;
  readonly stateDir: string;
  readonly debugSocket: string;
  readonly logFile: string;
  readonly trustDomain: string;
}

/** Times are epoch milliseconds with sub-millisecond precision (performance.timeOrigin + performance.now()), comparable across processes. */
export type ChildMessage =
  | {
      readonly kind: 'ready';
      readonly port: number;
      /** ControlPlane.start(): CA, first store read, MeshIndex build, gRPC bind. */
      readonly startMs: number;
      /** One warm DirectoryStore.read() of an unchanged-size store: JSON.parse plus deep freeze (paid on every change). */
      readonly storeReadMs: number;
      readonly storeBytes: number;
    }
  | {
      readonly kind: 'change';
      /** When the store change reached the control plane (after the store re-read and key diff). */
      readonly notifiedAt: number;
      /** MeshIndex.apply plus handing the changed types to the xDS server's debouncer. */
      readonly applyMs: number;
      readonly changedKeys: number;
    }
  | { readonly kind: 'memory'; readonly usage: NodeJS.MemoryUsage }
  | { readonly kind: 'failed'; readonly message: string };

/** `gc`: run a full garbage collection first (the child runs with --expose-gc), to tell live memory from garbage. */
export type ParentMessage = { readonly kind: 'memory'; readonly gc: boolean };

export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export function isChildMessage(value: unknown): value is ChildMessage {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'ready' || kind === 'change' || kind === 'memory' || kind === 'failed';
}
