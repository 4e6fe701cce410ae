// Shared pieces for the CNI tests: temp dirs, throwaway netns named tcni-<random>, and small waits.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The part of tap's Test the helpers need. */
export interface Teardowns {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: Teardowns, prefix = 'ambit-cni-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function inNs(netns: string, cmd: string, ...args: string[]): string {
  return sh('ip', 'netns', 'exec', netns, cmd, ...args);
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('the CNI tests need root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces and apply iptables rules');
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

function deleteNetns(name: string): void {
  try {
    sh('ip', 'netns', 'del', name);
  } catch {
    // not created, or already gone
  }
}

/** Creates netns `name` with lo up, deleted in teardown (even when the test fails). */
export function makeNetns(t: Teardowns, name: string): string {
  requireRoot();
  t.teardown(() => deleteNetns(name));
  sh('ip', 'netns', 'add', name);
  sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/** A throwaway pod-like netns `tcni-<random>` with lo up and `ip` on eth0 (a veth whose peer stays inside the same netns). */
export function makePodNetns(t: Teardowns, ip = '10.252.9.2'): string {
  const name = makeNetns(t, `tcni-${randomSuffix()}`);
  sh('ip', '-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer');
  sh('ip', '-n', name, 'link', 'set', 'eth0peer', 'up');
  sh('ip', '-n', name, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
  sh('ip', '-n', name, 'link', 'set', 'eth0', 'up');
  return name;
}

/** Polls `check` every 20 ms until it returns true; throws with `what` after timeoutMs. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
