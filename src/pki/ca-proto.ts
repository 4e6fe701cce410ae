// The Istio CA service definition (istio.v1.auth.IstioCertificateService), loaded lazily from ca.proto, plus its message shapes.
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import { PROTO_ROOT } from '../xds/proto-root';

export const CA_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';
export const CREATE_CERTIFICATE_PATH = `/${CA_SERVICE_NAME}/CreateCertificate`;
/** The metadata key ztunnel uses to ask for a workload's certificate while authenticated as itself. */
export const IMPERSONATED_IDENTITY_KEY = 'ImpersonatedIdentity';

/** google.protobuf.Value as proto-loader decodes it with `oneofs: true`. */
export interface StructValue {
  readonly kind?: string;
  readonly stringValue?: string;
  readonly numberValue?: number;
  readonly boolValue?: boolean;
  readonly nullValue?: string;
  readonly structValue?: StructMessage;
  readonly listValue?: { readonly values?: StructValue[] };
}

export interface StructMessage {
  readonly fields?: Record<string, StructValue>;
}

export interface IstioCertificateRequest {
  readonly csr: string;
  /** int64 seconds; decoded as a decimal string (proto-loader `longs: String`), sent as string or number. */
  readonly validity_duration: string | number;
  readonly metadata: StructMessage | null;
}

export interface IstioCertificateResponse {
  readonly cert_chain: string[];
}

let cached: grpc.ServiceDefinition | undefined;

/** The service definition for `grpc.Server.addService` and for building a client; parsed on first use. */
export function caServiceDefinition(): grpc.ServiceDefinition {
  if (cached !== undefined) return cached;
  const definition = protoLoader.loadSync(path.join('istio', 'v1', 'auth', 'ca.proto'), {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = definition[CA_SERVICE_NAME];
  if (service === undefined || !isServiceDefinition(service)) throw new Error(`${CA_SERVICE_NAME} is missing from ${PROTO_ROOT}/istio/v1/auth/ca.proto`);
  cached = service;
  return service;
}

function isServiceDefinition(value: protoLoader.AnyDefinition): value is protoLoader.ServiceDefinition {
  return !('format' in value);
}

/** Narrows a decoded request to the fields ambit reads, tolerating absent optional ones. */
export function asCertificateRequest(value: unknown): IstioCertificateRequest {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const csr = typeof record.csr === 'string' ? record.csr : '';
  const validity = record.validity_duration;
  const metadata = typeof record.metadata === 'object' && record.metadata !== null ? (record.metadata as StructMessage) : null;
  return {
    csr,
    validity_duration: typeof validity === 'string' || typeof validity === 'number' ? validity : 0,
    metadata,
  };
}

/** A string field of a Struct; `undefined` when absent, `null` when present but not a string. */
export function structString(struct: StructMessage | null, key: string): string | null | undefined {
  const value = struct?.fields?.[key];
  if (value === undefined) return undefined;
  return typeof value.stringValue === 'string' && (value.kind === undefined || value.kind === 'stringValue') ? value.stringValue : null;
}
