// Readiness checks the way kubelet runs them: from the node's netns to the pod's address (TCP connect or HTTP GET).
import type { Container, Probe } from '../api';
import type net from 'node:net';
import { connectInNetns } from '../native';

export interface ProbeTarget {
  readonly nodeNetns: string;
  readonly podIp: string;
}

/** The probe a container effectively has: its readinessProbe, else (an ambit convenience) a TCP check of its first port. */
export function effectiveReadinessProbe(container: Container): Probe | undefined {
  if (container.readinessProbe) return container.readinessProbe;
  const first = container.ports?.[0];
  return first ? { tcpSocket: { port: first.containerPort } } : undefined;
}

function probePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

/** Resolves true when the probe passes; never rejects. exec probes are not supported locally and count as passing. */
export async function runProbe(probe: Probe, container: Container, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const action = probe.httpGet ?? probe.tcpSocket;
  if (!action) return true;
  const port = probePort(action.port, container);
  if (port === undefined) return false;
  let socket: net.Socket;
  try {
    socket = await connectInNetns({ netns: target.nodeNetns, host: target.podIp, port, timeoutMs });
  } catch {
    return false;
  }
  if (!probe.httpGet) {
    socket.destroy();
    return true;
  }
  const path = probe.httpGet.path ?? '/';
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), timeoutMs);
    let head = '';
    function finish(ok: boolean) {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
    socket.on('error', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (match) finish(Number(match[1]) >= 200 && Number(match[1]) < 400);
      else if (head.includes('\r\n')) finish(false);
    });
    socket.on('end', () => finish(false));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.podIp}:${port}\r\nUser-Agent: ambit-probe/1\r\nConnection: close\r\n\r\n`);
  });
}
