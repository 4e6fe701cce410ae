// DeltaDiscoveryResponse assembled from pre-encoded Resource messages: a resource shared by many proxies is encoded
// once, and each response only concatenates. Field numbers are envoy.service.discovery.v3's (discovery.proto).
import * as protobuf from 'protobufjs';

const LENGTH_DELIMITED = 2;

/** DeltaDiscoveryResponse fields. */
const RESPONSE = { systemVersionInfo: 1, resources: 2, typeUrl: 4, nonce: 5, removedResources: 6 } as const;
/** Resource fields, and google.protobuf.Any's. */
const RESOURCE = { version: 1, resource: 2, name: 3, aliases: 4 } as const;
const ANY = { typeUrl: 1, value: 2 } as const;

function tag(field: number): number {
  return (field << 3) | LENGTH_DELIMITED;
}

export interface ResourceParts {
  readonly name: string;
  readonly version: string;
  readonly aliases: readonly string[];
  readonly typeUrl: string;
  /** The resource message itself (e.g. an istio.workload.Address), not wrapped in Any. */
  readonly value: Uint8Array;
}

/** One envoy.service.discovery.v3.Resource, with the value wrapped in Any, as bytes. */
export function encodeResourceMessage(parts: ResourceParts): Uint8Array {
  const writer = protobuf.Writer.create();
  if (parts.version !== '') writer.uint32(tag(RESOURCE.version)).string(parts.version);
  writer.uint32(tag(RESOURCE.resource)).fork();
  writer.uint32(tag(ANY.typeUrl)).string(parts.typeUrl);
  if (parts.value.length > 0) writer.uint32(tag(ANY.value)).bytes(parts.value);
  writer.ldelim();
  if (parts.name !== '') writer.uint32(tag(RESOURCE.name)).string(parts.name);
  for (const alias of parts.aliases) writer.uint32(tag(RESOURCE.aliases)).string(alias);
  return writer.finish();
}

export interface DeltaResponseParts {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** Each an encoded Resource (encodeResourceMessage). */
  readonly resources: readonly Uint8Array[];
  readonly removedResources: readonly string[];
}

/** The response's bytes; decodes exactly as encodeDeltaResponse's would for the same content. */
export function assembleDeltaResponse(parts: DeltaResponseParts): Buffer {
  const writer = protobuf.Writer.create();
  if (parts.systemVersionInfo !== '') writer.uint32(tag(RESPONSE.systemVersionInfo)).string(parts.systemVersionInfo);
  for (const resource of parts.resources) writer.uint32(tag(RESPONSE.resources)).bytes(resource);
  if (parts.typeUrl !== '') writer.uint32(tag(RESPONSE.typeUrl)).string(parts.typeUrl);
  if (parts.nonce !== '') writer.uint32(tag(RESPONSE.nonce)).string(parts.nonce);
  for (const name of parts.removedResources) writer.uint32(tag(RESPONSE.removedResources)).string(name);
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
