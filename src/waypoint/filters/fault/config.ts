// Fault injection, build step: a route's delay and abort with their percentages.
import type { FaultDoc } from '../../config/types';
import { GRPC_STATUS_CODES } from '../local-reply';
import { WaypointConfigInvalid } from '../../errors';

export interface FaultConfig {
  readonly delayMs: number;
  /** 0-100. */
  readonly delayPercentage: number;
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percentage: number };
}

export function compileFault(doc: FaultDoc | undefined): FaultConfig | undefined {
  if (doc === undefined || (doc.delay === undefined && doc.abort === undefined)) return undefined;
  let abort: FaultConfig['abort'];
  if (doc.abort) {
    if (doc.abort.grpcStatus !== undefined) {
      const code = GRPC_STATUS_CODES[doc.abort.grpcStatus];
      if (code === undefined) throw new WaypointConfigInvalid(`fault abort grpcStatus ${JSON.stringify(doc.abort.grpcStatus)} is not a gRPC status name`);
      abort = { grpcStatus: code, percentage: doc.abort.percentage };
    } else {
      abort = { httpStatus: doc.abort.httpStatus, percentage: doc.abort.percentage };
    }
  }
  return { delayMs: doc.delay?.fixedDelayMs ?? 0, delayPercentage: doc.delay?.percentage ?? 0, ...(abort ? { abort } : {}) };
}
