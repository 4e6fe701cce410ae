// The HBONE port, where every mesh workload (through its ztunnel) and every waypoint accepts tunnels.
export const HBONE_PORT = 15008;
