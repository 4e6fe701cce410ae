// Prepares a filesystem path for a unix-socket server: makes its directory and removes a stale socket left by a previous run.
import fs from 'node:fs';
import path from 'node:path';
import { SocketPathOccupied } from './errors';

/** Makes the parent directory and removes a leftover socket file; refuses to remove anything that is not a socket. */
export function prepareSocketPath(socketPath: string): void {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new SocketPathOccupied(socketPath);
  fs.rmSync(socketPath, { force: true });
}

/** Removes the socket file a server made, if it is still there. */
export function removeSocketFile(socketPath: string): void {
  try {
    if (fs.lstatSync(socketPath).isSocket()) fs.rmSync(socketPath, { force: true });
  } catch {
    // already gone
  }
}
