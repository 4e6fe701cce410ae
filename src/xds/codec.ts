// Encodes and decodes ambit's xDS resources (istio.workload.Address, istio.security.Authorization,
// ambit.waypoint.v1.WaypointConfig) to and from protobuf bytes and google.protobuf.Any.
import { XdsDecodeError } from './errors';
import { decodePlain, encodePlain } from './proto-plain';
import { xdsSchema } from './schema';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WAYPOINT_TYPE_URL,
  type Address,
  type AddressInput,
  type AnyMessage,
  type Authorization,
  type ProtoInput,
  type WaypointConfig,
} from './types';

type Plain = Record<string, unknown>;

export function encodeAddress(address: AddressInput): Uint8Array {
  return encodePlain(xdsSchema().address, address as Plain);
}

/** Decodes an istio.workload.Address; an Address with neither workload nor service is rejected. */
export function decodeAddress(bytes: Uint8Array): Address {
  const plain = decodePlain(xdsSchema().address, bytes);
  if (plain.workload === undefined && plain.service === undefined) {
    throw new XdsDecodeError('istio.workload.Address', 'neither workload nor service is set');
  }
  return plain as unknown as Address;
}

export function encodeAuthorization(authorization: ProtoInput<Authorization>): Uint8Array {
  return encodePlain(xdsSchema().authorization, authorization as Plain);
}

export function decodeAuthorization(bytes: Uint8Array): Authorization {
  return decodePlain(xdsSchema().authorization, bytes) as unknown as Authorization;
}

export function encodeWaypointConfig(config: ProtoInput<WaypointConfig>): Uint8Array {
  return encodePlain(xdsSchema().waypointConfig, config as Plain);
}

export function decodeWaypointConfig(bytes: Uint8Array): WaypointConfig {
  return decodePlain(xdsSchema().waypointConfig, bytes) as unknown as WaypointConfig;
}

export function toAny(typeUrl: string, value: Uint8Array): AnyMessage {
  return { typeUrl, value };
}

export function addressToAny(address: AddressInput): AnyMessage {
  return toAny(ADDRESS_TYPE_URL, encodeAddress(address));
}

export function authorizationToAny(authorization: ProtoInput<Authorization>): AnyMessage {
  return toAny(AUTHORIZATION_TYPE_URL, encodeAuthorization(authorization));
}

export function waypointConfigToAny(config: ProtoInput<WaypointConfig>): AnyMessage {
  return toAny(WAYPOINT_TYPE_URL, encodeWaypointConfig(config));
}

function expectType(any: AnyMessage, typeUrl: string): Uint8Array {
  if (any.typeUrl !== typeUrl) {
    throw new XdsDecodeError(typeUrl.slice(typeUrl.lastIndexOf('/') + 1), `Any carries ${any.typeUrl || '(no type URL)'}`);
  }
  return any.value;
}

export function addressFromAny(any: AnyMessage): Address {
  return decodeAddress(expectType(any, ADDRESS_TYPE_URL));
}

export function authorizationFromAny(any: AnyMessage): Authorization {
  return decodeAuthorization(expectType(any, AUTHORIZATION_TYPE_URL));
}

export function waypointConfigFromAny(any: AnyMessage): WaypointConfig {
  return decodeWaypointConfig(expectType(any, WAYPOINT_TYPE_URL));
}
