// Public surface of leader election.
export { LeaseElector } from './lease-elector';
export type { LeadershipListener, LeaseElectorOptions } from './lease-elector';
