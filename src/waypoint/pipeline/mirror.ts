// Mirrors: a copy of the request (same method, path, headers and body; host suffixed "-shadow") to another cluster, whose answer is read and dropped.
import type { MirrorTarget } from '../filters/mirror/config';
import { shadowAuthority } from '../filters/mirror/filter';
import { destinationPort } from '../routing/select';
import type { RoutingTable } from '../routing/table';
import type { Exchange, ProxyDeps } from './exchange';
import { upstreamProtocol } from './router';

/** Fires one mirror request. Nothing about it (failure, slowness, status) reaches the client's response. */
export function sendMirror(deps: ProxyDeps, table: RoutingTable, exchange: Exchange, mirror: MirrorTarget): void {
  if (!exchange.body.replayable) return;
  const service = table.services.get(mirror.host);
  const port = destinationPort(mirror, service, exchange.facts.destinationPort);
  const spec = port === undefined ? undefined : table.cluster(mirror.host, port, mirror.subset);
  if (spec === undefined) return;
  const runtime = deps.clusters.runtime(spec);
  const endpoint = runtime.pick({ random: deps.random });
  if (endpoint === undefined) return;
  const controller = new AbortController();
  // A mirror may not outlive the waypoint's interest: give it the route's deadline or 30 s.
  const timer = setTimeout(() => controller.abort(new Error('mirror timed out')), Math.max(1, (exchange.deadline ?? Date.now() + 30_000) - Date.now()));
  timer.unref();
  const head = { method: exchange.method, path: exchange.path, authority: shadowAuthority(exchange.authority), headers: { ...exchange.headers } };
  deps.pool
    .send(endpoint, upstreamProtocol(spec, exchange.protocol), head, exchange.body, { signal: controller.signal, critical: false })
    .then(
      (response) => {
        response.body.on('error', () => undefined);
        response.body.resume();
        response.body.once('end', () => clearTimeout(timer));
      },
      (error: Error) => {
        clearTimeout(timer);
        deps.logger.debug({ requestId: exchange.requestId, mirror: spec.key, err: error.message }, 'mirror request failed');
      },
    );
}
