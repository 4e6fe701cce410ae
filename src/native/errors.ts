// Errors raised by the native socket addon: a missing/broken build, bad arguments, and failed syscalls.

/** The compiled addon file is not there: the package was installed without building it. */
export class NativeAddonMissing extends Error {
  readonly code = 'NATIVE_ADDON_MISSING' as const;
  /** Where the addon was looked for. */
  readonly path: string;

  constructor(path: string, options?: { cause?: unknown }) {
    super(`ambit's native addon is not built: run npm install (needs python3, make, g++); looked for ${path}`, options);
    this.name = 'NativeAddonMissing';
    this.path = path;
  }
}

/** The addon file exists but does not load (built for another Node ABI, truncated, wrong exports). */
export class NativeAddonBroken extends Error {
  readonly code = 'NATIVE_ADDON_BROKEN' as const;
  readonly path: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`ambit's native addon at ${path} does not load (${reason}): rebuild it with npm run build:native`, options);
    this.name = 'NativeAddonBroken';
    this.path = path;
  }
}

/** An option the addon cannot use (a host that is not an IP literal, a port or mark out of range). */
export class InvalidSocketOption extends Error {
  readonly code = 'INVALID_SOCKET_OPTION' as const;
  /** Name of the option at fault, e.g. "port" or "sourceAddress.host". */
  readonly option: string;

  constructor(option: string, reason: string) {
    super(`invalid socket option ${option}: ${reason}`);
    this.name = 'InvalidSocketOption';
    this.option = option;
  }
}

/** Where a failed socket call was aimed, for operators reading the error. */
export interface SocketErrorContext {
  /** Network namespace the call ran in; undefined for the process's own. */
  netns?: string;
  address?: string;
  port?: number;
}

/**
 * A syscall made by the addon failed. Shaped like Node's own system errors:
 * `code` is the errno name ('ENOENT', 'EADDRINUSE', 'ECONNREFUSED', 'ETIMEDOUT', ...),
 * `errno` its negated number, `syscall` the call that failed ('open', 'setns', 'bind', 'connect', ...).
 */
export class NativeSocketError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly netns: string | undefined;
  readonly address: string | undefined;
  readonly port: number | undefined;

  constructor(message: string, code: string, errno: number, syscall: string, context: SocketErrorContext = {}) {
    super(message);
    this.name = 'NativeSocketError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.netns = context.netns;
    this.address = context.address;
    this.port = context.port;
  }

  /** Re-types an error thrown by the addon (a plain Error carrying code/errno/syscall); anything else is returned as is. */
  static fromAddon(raw: unknown, context: SocketErrorContext = {}): unknown {
    if (!(raw instanceof Error)) return raw;
    const fields = raw as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
    if (typeof fields.code !== 'string' || typeof fields.errno !== 'number' || typeof fields.syscall !== 'string') return raw;
    return new NativeSocketError(raw.message, fields.code, fields.errno, fields.syscall, context);
  }
}
