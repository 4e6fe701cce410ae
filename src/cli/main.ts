// The `ambit` command: dispatches to one command module and turns expected failures into one line on stderr.
import { UsageError } from './args';
import { analyze } from './commands/analyze';
import { apply, remove } from './commands/apply';
import { debug } from './commands/debug';
import { down } from './commands/down';
import { exec, logs } from './commands/exec';
import { get } from './commands/get';
import { label } from './commands/label';
import { install } from './commands/install';
import { manifest } from './commands/manifest';
import { uninstall } from './commands/uninstall';
import { up } from './commands/up';
import { waypoint } from './commands/waypoint';
import { ztunnelConfig } from './commands/ztunnel-config';

type Command = (argv: readonly string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = { up, down, apply, delete: remove, label, get, exec, logs, debug, analyze, 'ztunnel-config': ztunnelConfig, waypoint, manifest, install, uninstall };

const USAGE = `ambit: an ambient-mode service mesh

Local cluster:
  ambit up [--config DIR] [--nodes N]      start a local cluster and keep it running (Ctrl-C stops and removes it)
  ambit down [--purge]                     stop it and remove every netns, link, rule and process it made
  ambit apply -f FILE|DIR                  validate and store resources
  ambit delete -f FILE | KIND NAME -n NS   delete resources
  ambit analyze [-f FILE|DIR]              config problems (object and field at fault), without applying
  ambit label KIND NAME k=v|k- [-n NS]     e.g. ambit label namespace bookinfo istio.io/dataplane-mode=ambient
  ambit get KIND [NAME] [-n NS|-A] [-o wide|yaml|json]
  ambit exec POD|deploy/NAME -n NS -- CMD  run a command inside a pod's network namespace
  ambit logs POD|deploy/NAME -n NS         print a container's output

Mesh:
  ambit waypoint apply|delete|list [-n NS] [--name N] [--for service|workload|all] [--service-account SA] [--enroll-namespace]
  ambit ztunnel-config workloads|services|policies|certificates|pods|all [--node N] [-o json]
                                           what a node's ztunnel holds (its /config_dump)
Kubernetes:
  ambit manifest generate [--image IMAGE]  the install manifests (control plane, ztunnel and CNI DaemonSets, RBAC)
  ambit install | uninstall [--kubeconfig F] [--context C]
Control plane:
  ambit debug workloads|services|policies|clients|pushed|push_stats [--node N]
                                           what the control plane knows and what each proxy has ACKed

Global flags: --cluster NAME (or AMBIT_CLUSTER; default ambit), --state-dir DIR (or AMBIT_HOME; default /var/lib/ambit)
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ambit: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    const err = error as Error & { code?: unknown };
    if (process.env.AMBIT_DEBUG) process.stderr.write(`${err.stack}\n`);
    // Errors with a code are ours and carry a message meant for users; anything else is a bug, but still one line.
    const message = typeof err.code === 'string' ? err.message : `unexpected error: ${err.message} (set AMBIT_DEBUG=1 for a stack trace)`;
    process.stderr.write(`ambit: ${message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ambit: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
