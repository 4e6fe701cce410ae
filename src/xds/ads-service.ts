// The gRPC wiring of Envoy's delta ADS method, shared by ambit's xDS server and client: the method path and
// (de)serializers that turn DeltaDiscoveryRequest/Response bytes into the plain shapes of types.ts.
import type * as grpc from '@grpc/grpc-js';
import { decodePlain, encodePlain } from './proto-plain';
import { xdsSchema } from './schema';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, ProtoInput } from './types';

type Plain = Record<string, unknown>;

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const DELTA_ADS_METHOD_PATH = `/${ADS_SERVICE_NAME}/DeltaAggregatedResources`;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeDeltaRequest(request: ProtoInput<DeltaDiscoveryRequest>): Buffer {
  return toBuffer(encodePlain(xdsSchema().deltaRequest, request as Plain));
}

export function decodeDeltaRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  return decodePlain(xdsSchema().deltaRequest, bytes) as unknown as DeltaDiscoveryRequest;
}

export function encodeDeltaResponse(response: ProtoInput<DeltaDiscoveryResponse>): Buffer {
  return toBuffer(encodePlain(xdsSchema().deltaResponse, response as Plain));
}

export function decodeDeltaResponse(bytes: Uint8Array): DeltaDiscoveryResponse {
  return decodePlain(xdsSchema().deltaResponse, bytes) as unknown as DeltaDiscoveryResponse;
}

/**
 * Server-side service definition for `grpc.Server.addService`. Requests arrive decoded; responses are written
 * pre-encoded (see encodeDeltaResponse) so the server knows exactly how many bytes it pushed.
 */
export function deltaAdsServerDefinition(): grpc.ServiceDefinition<grpc.UntypedServiceImplementation> {
  const method: grpc.MethodDefinition<DeltaDiscoveryRequest, Buffer> = {
    path: DELTA_ADS_METHOD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (value: DeltaDiscoveryRequest) => encodeDeltaRequest(value),
    requestDeserialize: (bytes: Buffer) => decodeDeltaRequest(bytes),
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
  };
  return { DeltaAggregatedResources: method };
}
