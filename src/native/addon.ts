// Finds and loads the compiled ambit_net addon (native/build/Release/ambit_net.node), once, on first use.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NativeAddonBroken, NativeAddonMissing } from './errors';

/** Options object as the C side reads it; every name matches a read in native/ambit_net.c. */
export interface RawSocketOptions {
  netns?: string;
  host: string;
  port: number;
  backlog?: number;
  reuseAddr?: boolean;
  transparent?: boolean;
  mark?: number;
  sourceHost?: string;
  sourcePort?: number;
  timeoutMs?: number;
}

export interface RawOriginalDst {
  address: string;
  port: number;
  family: 4 | 6;
}

/** The addon's exports. Failures are Errors with code/errno/syscall (see NativeSocketError.fromAddon). */
export interface AmbitNetAddon {
  /** Opens a listening, non-blocking TCP socket (in opts.netns when given) and returns its fd. */
  openListener(opts: RawSocketOptions): number;
  /** Starts a non-blocking connect (in opts.netns when given); resolves with the connected fd. */
  connect(opts: RawSocketOptions): Promise<number>;
  originalDst(fd: number): RawOriginalDst;
  setMark(fd: number, mark: number): void;
}

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'ambit_net.node');

/**
 * The package root: the nearest ancestor of `from` holding package.json and native/binding.gyp
 * (so it is found both from src/native and from dist/src/native), else the nearest with package.json.
 */
export function findPackageRoot(from: string = __dirname): string {
  let firstWithPackageJson: string | undefined;
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      if (existsSync(join(dir, 'native', 'binding.gyp'))) return dir;
      firstWithPackageJson ??= dir;
    }
    if (dirname(dir) === dir) return firstWithPackageJson ?? from;
  }
}

export function defaultAddonPath(): string {
  return join(findPackageRoot(), ADDON_RELATIVE_PATH);
}

/** Loads the addon at `path`, checking that it has the functions this wrapper calls. */
export function loadAddon(path: string): AmbitNetAddon {
  if (!existsSync(path)) throw new NativeAddonMissing(path);
  const holder: { exports: Record<string, unknown> } = { exports: {} };
  try {
    process.dlopen(holder, path);
  } catch (err) {
    throw new NativeAddonBroken(path, err instanceof Error ? err.message : String(err), { cause: err });
  }
  for (const name of ['openListener', 'connect', 'originalDst', 'setMark']) {
    if (typeof holder.exports[name] !== 'function') throw new NativeAddonBroken(path, `it does not export ${name}()`);
  }
  return holder.exports as unknown as AmbitNetAddon;
}

let cached: AmbitNetAddon | undefined;

/** The addon, loaded from the package's native/ build on the first call. */
export function addon(): AmbitNetAddon {
  cached ??= loadAddon(defaultAddonPath());
  return cached;
}
