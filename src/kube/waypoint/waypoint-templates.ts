// Renders the waypoint/ templates (ServiceAccount, Service, Deployment) for one waypoint Gateway, owned by that Gateway.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { OwnerReference, Resource } from '../../api';
import { assetDir } from '../assets';

/** The templates, in the order they are applied (the Deployment last: it needs the other two). */
export const WAYPOINT_TEMPLATE_FILES = ['serviceaccount.yaml', 'service.yaml', 'deployment.yaml'] as const;

export interface WaypointValues {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  /** host:port of the control plane's xDS/CA endpoint. */
  readonly controlPlaneAddress: string;
  readonly trustDomain: string;
  /** istio.io/waypoint-for: service (default), workload, all or none. */
  readonly waypointFor: string;
}

/** A template or value that cannot produce valid objects. */
export class WaypointTemplateError extends Error {
  readonly code = 'WAYPOINT_TEMPLATE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'WaypointTemplateError';
  }
}

/** Values land inside quoted YAML strings, so they are limited to what names, images and addresses use. */
const SAFE_VALUE = /^[A-Za-z0-9._:/@\-[\]]+$/;

export class WaypointTemplates {
  private constructor(private readonly sources: readonly { file: string; text: string }[]) {}

  /** Reads the templates from `dir` (default: the shipped waypoint/ directory). */
  static load(dir: string = assetDir('waypoint')): WaypointTemplates {
    return new WaypointTemplates(WAYPOINT_TEMPLATE_FILES.map((file) => ({ file: path.join(dir, file), text: fs.readFileSync(path.join(dir, file), 'utf8') })));
  }

  /** The objects for one waypoint, each carrying a controller owner reference to `owner` (the Gateway). */
  render(values: WaypointValues, owner: OwnerReference): Resource[] {
    for (const [key, value] of Object.entries(values)) {
      if (!SAFE_VALUE.test(value)) throw new WaypointTemplateError(`waypoint template value ${key}=${JSON.stringify(value)} has characters a name, image or address cannot have`);
    }
    return this.sources.map(({ file, text }) => {
      const rendered = text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_match, key: string) => {
        const value = (values as unknown as Record<string, string | undefined>)[key];
        if (value === undefined) throw new WaypointTemplateError(`${file}: unknown template field {{${key}}}; known: ${Object.keys(values).join(', ')}`);
        return value;
      });
      let object: Resource;
      try {
        object = YAML.parse(rendered) as Resource;
      } catch (error) {
        throw new WaypointTemplateError(`${file}: not valid YAML once rendered: ${(error as Error).message}`);
      }
      if (typeof object?.kind !== 'string' || typeof object.metadata?.name !== 'string') throw new WaypointTemplateError(`${file}: must hold one object with kind and metadata.name`);
      object.metadata.ownerReferences = [{ ...owner, controller: true, blockOwnerDeletion: true }];
      return object;
    });
  }
}
