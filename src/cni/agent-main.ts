// The CNI agent process on Kubernetes: `node dist/src/cni/agent-main.js --node N [--agent-socket S] [--ztunnel-socket S]
// [--kubeconfig F] [--context C] [--netns-dir D] [--probe-source IP]...`, as the ambit-cni DaemonSet runs it.
import { KubeConnection } from '../kube/connection';
import { createLogger } from '../telemetry/logger';
import { runAgent, type CniAgent } from './agent';
import { parseAgentFlags } from './kube/agent-flags';
import { KubernetesPodLabelSource } from './kube/pod-label-source';
import { runningPodFinder } from './kube/running-pods';

async function main(argv: readonly string[]): Promise<void> {
  const flags = parseAgentFlags(argv);
  const logger = createLogger({ component: 'cni-agent' }).child({ node: flags.nodeName });
  const connection = await KubeConnection.open({ kubeconfig: flags.kubeconfig, context: flags.context });
  const labels = new KubernetesPodLabelSource({ connection, nodeName: flags.nodeName, logger: logger.child({ part: 'informers' }) });
  let agent: CniAgent | undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping the CNI agent; capture stays in place in the pods');
    void (agent?.stop() ?? Promise.resolve())
      .catch((err: unknown) => logger.error({ err }, 'the CNI agent did not stop cleanly'))
      .finally(() => {
        labels.stop();
        process.exit(0);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // Reconcile must see every pod of the node: the agent starts only once the informers have listed.
  await labels.start();
  agent = await runAgent({
    nodeName: flags.nodeName,
    agentSocket: flags.agentSocket,
    ztunnelSocket: flags.ztunnelSocket,
    probeSourceAddresses: flags.probeSourceAddresses,
    pods: labels,
    listPods: runningPodFinder({ netnsDir: flags.netnsDir, pods: () => labels.nodePods(), logger: logger.child({ part: 'reconcile' }) }),
    logger,
  });
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`cni-agent: ${error.message}\n`);
  process.exit(1);
});
