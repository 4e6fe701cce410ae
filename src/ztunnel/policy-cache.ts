// Compiles the snapshot's Authorizations into a PolicySnapshot once per change, not once per connection.
import { PolicySnapshot } from './authz';
import type { ZtunnelSnapshot } from './state/snapshot';

const compiled = new WeakMap<ZtunnelSnapshot['authorizations'], PolicySnapshot>();

export function policiesOf(snapshot: ZtunnelSnapshot): PolicySnapshot {
  let policies = compiled.get(snapshot.authorizations);
  if (!policies) {
    policies = PolicySnapshot.from(snapshot.authorizations.values());
    compiled.set(snapshot.authorizations, policies);
  }
  return policies;
}
