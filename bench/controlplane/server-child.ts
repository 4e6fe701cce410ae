// The control plane under test, in its own process so its memory and CPU can be read apart from the proxies':
// `node dist/bench/controlplane/server-child.js '<ChildConfig JSON>'`, forked by control-plane-process.ts.
import fs from 'node:fs';
import pino from 'pino';
import type { ConfigChangeListener, ConfigSnapshot, ConfigSource } from '../../src/controlplane/sources/config-source';
import { ControlPlane } from '../../src/controlplane/server';
import { LocalStoreSource } from '../../src/controlplane/sources/local-store-source';
import { policyTranslator } from '../../src/controlplane/translate/policies';
import { DirectoryStore } from '../../src/local/store/directory-store';
import { createLogger } from '../../src/telemetry/logger';
import { epochNow, type ChildConfig, type ChildMessage, type ParentMessage } from './child-protocol';

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Passes a source through unchanged, reporting when each change arrives and how long the control plane spends on it. */
class TimedConfigSource implements ConfigSource {
  constructor(private readonly inner: ConfigSource) {}

  start(): Promise<void> {
    return this.inner.start();
  }

  snapshot(): ConfigSnapshot {
    return this.inner.snapshot();
  }

  onChange(listener: ConfigChangeListener): () => void {
    return this.inner.onChange((snapshot, changed) => {
      const notifiedAt = epochNow();
      listener(snapshot, changed);
      send({ kind: 'change', notifiedAt, applyMs: epochNow() - notifiedAt, changedKeys: changed.size });
    });
  }

  stop(): void {
    this.inner.stop();
  }
}

/** Times a re-read of the store as LocalStoreSource does it on every change (a fresh instance has no cache). */
function timeStoreRead(dir: string): { ms: number; bytes: number } {
  DirectoryStore.open(dir).read();
  const started = epochNow();
  DirectoryStore.open(dir).read();
  return { ms: epochNow() - started, bytes: fs.statSync(`${dir}/objects.json`).size };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  // debug: the benchmark reads the server's 'xDS push' lines to learn when each response was queued.
  const logger = createLogger({ component: 'controlplane', level: 'debug', destination: pino.destination({ dest: config.logFile, sync: false }) });
  const storeRead = timeStoreRead(config.storeDir);
  const controlPlane = new ControlPlane({
    source: new TimedConfigSource(new LocalStoreSource(config.storeDir)),
    stateDir: config.stateDir,
    listenHost: '127.0.0.1',
    listenPort: 0,
    trustDomain: config.trustDomain,
    policies: policyTranslator({ trustDomain: config.trustDomain, logger }),
    logger,
    debugSocket: config.debugSocket,
  });
  const started = epochNow();
  await controlPlane.start();
  send({ kind: 'ready', port: controlPlane.boundPort, startMs: epochNow() - started, storeReadMs: storeRead.ms, storeBytes: storeRead.bytes });

  process.on('message', (message: ParentMessage) => {
    if (message.kind !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!message.gc || !gc) {
      send({ kind: 'memory', usage: process.memoryUsage() });
      return;
    }
    // ArrayBuffer backing stores are released by a concurrent sweeper after a GC: collect twice, a moment apart.
    gc();
    setTimeout(() => {
      gc();
      send({ kind: 'memory', usage: process.memoryUsage() });
    }, 200);
  });
  const stop = () => void controlPlane.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  // The benchmark went away without stopping us: do not linger.
  process.on('disconnect', stop);
}

main().catch((error: unknown) => {
  send({ kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
