// Errors of the CNI side of capture (agent, in-pod rules, enrollment protocol), each with a literal code and a message an operator can act on.

/** A command run for capture (iptables-restore, ip rule, ...) failed; says what ran, where, and what it printed. */
export class CniCommandFailed extends Error {
  readonly code = 'CNI_COMMAND_FAILED' as const;
  /** The command line as run, e.g. "ip netns exec tcni-1 iptables-restore --noflush". */
  readonly command: string;
  /** Exit status; null when killed by a signal or the program is missing. */
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stderr: string, options?: { cause?: unknown }) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ') || 'no output';
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${tail}`, options);
    this.name = 'CniCommandFailed';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** The pod's network namespace does not exist (any more). */
export class NetnsNotFound extends Error {
  readonly code = 'NETNS_NOT_FOUND' as const;
  readonly netns: string;

  constructor(netns: string) {
    super(`network namespace ${netns} does not exist: the pod is gone or CNI_NETNS is wrong`);
    this.name = 'NetnsNotFound';
    this.netns = netns;
  }
}

/** A unix socket path is taken by something that is not a socket, so a server will not remove it. */
export class SocketPathOccupied extends Error {
  readonly code = 'SOCKET_PATH_OCCUPIED' as const;
  readonly path: string;

  constructor(path: string) {
    super(`${path} exists and is not a unix socket: remove it or choose another socket path`);
    this.name = 'SocketPathOccupied';
    this.path = path;
  }
}

/** The agent was given a config it cannot run with; the message names the field. */
export class InvalidAgentConfig extends Error {
  readonly code = 'INVALID_CNI_AGENT_CONFIG' as const;
  /** Name of the field at fault, e.g. "probeSourceAddresses[0]". */
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`invalid CNI agent config: ${field}: ${reason}`);
    this.name = 'InvalidAgentConfig';
    this.field = field;
  }
}

/**
 * Why the agent refused a plugin request. `retryable` tells the plugin whether to answer the runtime
 * "try again later" (CNI code 11) or fail for good.
 */
export type AgentErrorCode =
  | 'CNI_BAD_REQUEST'
  | 'CNI_POD_NOT_KNOWN'
  | 'CNI_CAPTURE_SETUP_FAILED'
  | 'CNI_ZTUNNEL_REJECTED'
  | 'CNI_CAPTURE_MISSING'
  | 'CNI_AGENT_STOPPING'
  | 'CNI_AGENT_INTERNAL';

export class AgentRequestError extends Error {
  readonly code: AgentErrorCode;
  readonly retryable: boolean;

  constructor(code: AgentErrorCode, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentRequestError';
    this.code = code;
    this.retryable = retryable;
  }
}
