// security.istio.io PeerAuthentication: whether workloads accept plaintext, per workload or per port.

import type { KindDefinition } from '../kind';
import type { Resource } from '../resource';
import { enumOf, mapOf, object, str, type Cursor } from '../schema';
import { workloadSelector, type WorkloadSelector } from './common';

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  mtls?: { mode?: MtlsMode };
  /** Keyed by the workload's port number (as YAML map keys they arrive as strings). */
  portLevelMtls?: Record<string, { mode?: MtlsMode }>;
}

export type PeerAuthentication = Resource<PeerAuthenticationSpec>;

const mtls = object({ mode: enumOf(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']) });

const portKey = str({
  format: (k) => (/^[0-9]+$/.test(k) && Number(k) >= 1 && Number(k) <= 65535 ? undefined : `${JSON.stringify(k)} is not a port number (1-65535)`),
});

export const peerAuthenticationSpecSchema = object<PeerAuthenticationSpec>(
  { selector: workloadSelector(), mtls, portLevelMtls: mapOf(mtls, portKey) },
  {
    refine: (spec, at: Cursor) => {
      const hasPorts = Object.keys(spec.portLevelMtls ?? {}).length > 0;
      if (hasPorts && Object.keys(spec.selector?.matchLabels ?? {}).length === 0) {
        at.at('portLevelMtls').fail('requires a selector with matchLabels: port-level settings apply only to selected workloads');
      }
    },
  },
);

export const peerAuthenticationKind: KindDefinition = {
  group: 'security.istio.io',
  kind: 'PeerAuthentication',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  plural: 'peerauthentications',
  singular: 'peerauthentication',
  shortNames: ['pa'],
  nameFormat: 'dns-1123-subdomain',
  fields: { spec: peerAuthenticationSpecSchema },
};
