// A fake Kubernetes API server over real HTTP on 127.0.0.1: discovery, CRUD, list and watch with resourceVersion semantics,
// TokenReview, fault injection, and a log of every request (with its RBAC verb) so tests can assert which calls were made.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { ApiError, ApiRules, patchTypeOf, statusBody } from './api-rules';
import { ObjectStore, type KubeObject } from './object-store';
import { apiVersionOf, BUILT_IN_TYPES, groupList, MESH_CRD_TYPES, resourceList, TOKEN_REVIEW_TYPE, type ApiResourceType } from './resource-types';
import { fieldsMatch, labelsMatch, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors';
import { TokenIssuer, type ServiceAccountTokenClaims } from './token-review';
import { WatchStreams } from './watch-streams';

export interface UserInfo {
  readonly username: string;
  readonly groups?: readonly string[];
}

/** One request as the server saw it; `verb` is the RBAC verb the real authorizer would check. */
export interface RequestRecord {
  readonly user: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly verb: string;
  readonly nonResource: boolean;
  readonly group?: string;
  readonly version?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  status: number;
  /** Verbs authorized besides `verb`: an apply that creates its object also needs `create`. */
  readonly alsoAuthorizes: string[];
}

export interface RequestMatch {
  readonly verb?: string;
  readonly resource?: string;
  readonly group?: string;
  readonly user?: string;
}

export interface FakeKubeApiServerOptions {
  /** Send a BOOKMARK to watches that allow them this often; 0 (default) sends them only on sendBookmarks(). */
  readonly bookmarkIntervalMs?: number;
  /** Leave these CRD-backed types out at start (installType adds them later). */
  readonly withoutTypes?: readonly string[];
}

interface Fault {
  readonly match: RequestMatch;
  readonly status: number;
  remaining: number;
}

interface Hold {
  readonly match: RequestMatch;
  readonly waiting: (() => void)[];
  released: boolean;
}

const ADMIN_TOKEN = 'fake-admin-token';

function matches(match: RequestMatch, record: RequestRecord): boolean {
  return (match.verb === undefined || match.verb === record.verb)
    && (match.resource === undefined || match.resource === record.resource)
    && (match.group === undefined || match.group === record.group)
    && (match.user === undefined || match.user === record.user);
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

interface ParsedPath {
  readonly type?: ApiResourceType;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

export class FakeKubeApiServer {
  readonly store = new ObjectStore();
  readonly requests: RequestRecord[] = [];
  readonly adminToken = ADMIN_TOKEN;
  private readonly types: ApiResourceType[];
  private readonly watches: WatchStreams;
  private readonly rules: ApiRules;
  private readonly tokens: TokenIssuer;
  private readonly users = new Map<string, UserInfo>([[ADMIN_TOKEN, { username: 'kubernetes-admin', groups: ['system:masters'] }]]);
  private readonly faults: Fault[] = [];
  private readonly holds: Hold[] = [];
  private server: http.Server | undefined;
  url = '';

  private constructor(options: FakeKubeApiServerOptions) {
    const without = new Set(options.withoutTypes ?? []);
    this.types = [...BUILT_IN_TYPES, ...MESH_CRD_TYPES.filter((type) => !without.has(type.resource)), TOKEN_REVIEW_TYPE];
    this.watches = new WatchStreams(this.store, options.bookmarkIntervalMs ?? 0);
    this.rules = new ApiRules(this.store, this.typeOf('', 'namespaces'));
    this.tokens = new TokenIssuer(this.store, this.typeOf('', 'pods'));
  }

  static async start(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
    const fake = new FakeKubeApiServer(options);
    const server = http.createServer((request, response) => void fake.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.server = server;
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    return fake;
  }

  async close(): Promise<void> {
    this.watches.close();
    for (const hold of this.holds) this.release(hold);
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Accepts `token` as this user. */
  addUser(token: string, user: UserInfo): void {
    this.users.set(token, user);
  }

  /** A projected service-account token: it authenticates API calls as the service account and passes TokenReview. */
  issueServiceAccountToken(claims: ServiceAccountTokenClaims): string {
    const token = this.tokens.issue(claims);
    this.users.set(token, { username: `system:serviceaccount:${claims.namespace}:${claims.serviceAccount}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${claims.namespace}`] });
    return token;
  }

  /** Writes a kubeconfig whose current context talks to this server with `token` (default: the admin's). */
  writeKubeconfig(dir: string, token = ADMIN_TOKEN, namespace = 'default'): string {
    const file = path.join(dir, `kubeconfig-${randomUUID().slice(0, 8)}`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake-user', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace } }],
      'current-context': 'fake',
    };
    fs.writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
    return file;
  }

  // ---- writes a test makes as if it were another controller (kubelet, scheduler): status included, no HTTP.

  /** Creates or replaces an object as stored state, status included; returns it with its new resourceVersion. */
  seed(object: Record<string, unknown>): KubeObject {
    const type = this.typeForObject(object);
    const metadata = (object.metadata ?? {}) as KubeObject['metadata'];
    const existing = this.store.get(type, type.namespaced ? metadata.namespace ?? 'default' : undefined, metadata.name ?? '');
    const stored: KubeObject = structuredClone({ ...object, apiVersion: apiVersionOf(type), kind: type.kind, metadata: { ...metadata } }) as KubeObject;
    if (type.namespaced) stored.metadata.namespace ??= 'default';
    stored.metadata.uid = existing?.metadata.uid ?? metadata.uid ?? randomUUID();
    stored.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    stored.metadata.managedFields = [{ manager: 'kubelet', operation: 'Update', apiVersion: apiVersionOf(type), time: stored.metadata.creationTimestamp, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} } }];
    if (type.kind === 'Namespace') stored.metadata.labels = { ...stored.metadata.labels, 'kubernetes.io/metadata.name': stored.metadata.name ?? '' };
    return this.store.put(type, stored).object;
  }

  /** Deletes an object (and, as garbage collection would, its dependents); false when it did not exist. */
  unseed(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    const type = this.typeForObject({ apiVersion, kind });
    try {
      this.rules.delete(type, namespace, name, false);
      return true;
    } catch {
      return false;
    }
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.typeForObject({ apiVersion, kind });
    return this.store.get(type, type.namespaced ? namespace : undefined, name);
  }

  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    return this.store.list(this.typeForObject({ apiVersion, kind }), namespace);
  }

  // ---- API surface changes and faults.

  /** Serves a CRD-backed type again (as installing its CRD does). */
  installType(resource: string): void {
    const type = MESH_CRD_TYPES.find((candidate) => candidate.resource === resource);
    if (!type) throw new Error(`unknown CRD type ${resource}`);
    if (!this.types.includes(type)) this.types.push(type);
  }

  /** Stops serving a CRD-backed type: lists and watches of it answer 404 and open watches of it end. */
  uninstallType(resource: string): void {
    const index = this.types.findIndex((type) => type.resource === resource && !type.builtIn);
    if (index >= 0) this.types.splice(index, 1);
    this.watches.drop();
  }

  /** Answers the next `times` matching requests with `status` (a Status body) instead of serving them. */
  inject(match: RequestMatch, status: number, times = 1): void {
    this.faults.push({ match, status, remaining: times });
  }

  /** Parks matching requests until the returned release() is called. */
  hold(match: RequestMatch): { release: () => void; waiting: () => number } {
    const hold: Hold = { match, waiting: [], released: false };
    this.holds.push(hold);
    return { release: () => this.release(hold), waiting: () => hold.waiting.length };
  }

  /** Forgets the event history (etcd compaction): watches resuming from any earlier resourceVersion get 410 Gone. */
  compact(): void {
    this.store.compact();
  }

  dropWatches(options: { abrupt?: boolean } = {}): number {
    return this.watches.drop(options);
  }

  expireWatches(): number {
    return this.watches.expire();
  }

  pauseWatches(): void {
    this.watches.pause();
  }

  resumeWatches(): void {
    this.watches.resume();
  }

  sendBookmarks(): number {
    return this.watches.sendBookmarks();
  }

  get openWatches(): number {
    return this.watches.count;
  }

  /** Requests that touched a resource (not discovery), optionally filtered. */
  calls(match: RequestMatch = {}): RequestRecord[] {
    return this.requests.filter((record) => !record.nonResource && matches(match, record));
  }

  private release(hold: Hold): void {
    hold.released = true;
    this.holds.splice(this.holds.indexOf(hold), 1);
    for (const resume of hold.waiting.splice(0)) resume();
  }

  private typeOf(group: string, resource: string): ApiResourceType {
    const type = [...BUILT_IN_TYPES, ...MESH_CRD_TYPES].find((candidate) => candidate.group === group && candidate.resource === resource);
    if (!type) throw new Error(`no type ${group}/${resource}`);
    return type;
  }

  private typeForObject(object: Record<string, unknown>): ApiResourceType {
    const type = [...BUILT_IN_TYPES, ...MESH_CRD_TYPES].find((candidate) => apiVersionOf(candidate) === object.apiVersion && candidate.kind === object.kind);
    if (!type) throw new Error(`the fake API server does not know ${String(object.apiVersion)} ${String(object.kind)}`);
    return type;
  }

  private parsePath(pathname: string): ParsedPath | undefined {
    const parts = pathname.split('/').filter((part) => part !== '').map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 3) [group, version, rest] = ['', parts[1], parts.slice(2)];
    else if (parts[0] === 'apis' && parts.length >= 4) [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
    else return undefined;
    const served = (resource: string | undefined) => this.types.find((type) => type.group === group && type.version === version && type.resource === resource);
    const namespacedType = rest[0] === 'namespaces' && rest.length >= 3 ? served(rest[2]) : undefined;
    if (namespacedType?.namespaced) return { type: namespacedType, group, version, resource: rest[2], namespace: rest[1], name: rest[3], subresource: rest[4] };
    return { type: served(rest[0]), group, version, resource: rest[0], name: rest[1], subresource: rest[2] };
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const header = request.headers.authorization ?? '';
    const user = this.users.get(/^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '');
    const parsed = this.parsePath(url.pathname);
    const method = request.method ?? 'GET';
    const watch = query.watch === 'true' || query.watch === '1';
    const verb = parsed
      ? { GET: parsed.name ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: parsed.name ? 'delete' : 'deletecollection' }[method] ?? method.toLowerCase()
      : method.toLowerCase();
    const record: RequestRecord = {
      user: user?.username ?? 'system:anonymous',
      method,
      path: url.pathname,
      query,
      verb,
      nonResource: parsed === undefined,
      ...(parsed ? { group: parsed.group, version: parsed.version, resource: parsed.resource, subresource: parsed.subresource, namespace: parsed.namespace, name: parsed.name } : {}),
      status: 0,
      alsoAuthorizes: [],
    };
    this.requests.push(record);
    const send = (status: number, body: unknown) => {
      record.status = status;
      if (response.headersSent) return void response.end();
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const fail = (error: ApiError) => send(error.status, statusBody(error));
    try {
      if (!user) return fail(new ApiError(401, 'Unauthorized', 'Unauthorized'));
      const fault = this.faults.find((candidate) => candidate.remaining > 0 && matches(candidate.match, record));
      if (fault) {
        fault.remaining -= 1;
        return fail(new ApiError(fault.status, fault.status === 404 ? 'NotFound' : 'InternalError', `injected failure (${fault.status}) for ${verb} ${url.pathname}`));
      }
      const hold = this.holds.find((candidate) => !candidate.released && matches(candidate.match, record));
      if (hold) await new Promise<void>((resume) => hold.waiting.push(resume));
      if (!parsed) return send(...this.discovery(url.pathname));
      const body = method === 'GET' || method === 'DELETE' ? '' : await readBody(request);
      if (!parsed.type) return fail(new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
      const type = parsed.type;
      if (type === TOKEN_REVIEW_TYPE) {
        if (method !== 'POST') return fail(new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
        return send(201, this.tokens.review(JSON.parse(body) as Record<string, unknown>));
      }
      if (parsed.subresource !== undefined && (parsed.subresource !== 'status' || !type.statusSubresource)) return fail(new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
      const namespace = type.namespaced ? parsed.namespace : undefined;
      const options = { fieldManager: query.fieldManager ?? request.headers['user-agent'] ?? 'unknown', subresource: parsed.subresource };
      if (verb === 'watch') return this.startWatch(response, record, type, namespace, query);
      if (verb === 'list') return send(200, this.listResponse(type, namespace, query));
      if (verb === 'get') {
        const object = this.store.get(type, namespace, parsed.name ?? '');
        return object ? send(200, object) : fail(this.rules.notFound(type, parsed.name ?? ''));
      }
      if (verb === 'create') return send(201, this.rules.create(type, namespace, JSON.parse(body), options));
      if (verb === 'update') return send(200, this.rules.update(type, namespace, parsed.name ?? '', JSON.parse(body), options));
      if (verb === 'patch') {
        const patchType = patchTypeOf(request.headers['content-type']);
        if (!patchType) return fail(new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`));
        const result = this.rules.patch(type, namespace, parsed.name ?? '', body, patchType, { ...options, force: query.force === 'true' });
        if (result.created) record.alsoAuthorizes.push('create');
        return send(result.created ? 201 : 200, result.object);
      }
      if (verb === 'delete') {
        const deleted = this.rules.delete(type, namespace, parsed.name ?? '', query.propagationPolicy === 'Orphan');
        return send(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: deleted.metadata.name, group: type.group, kind: type.resource, uid: deleted.metadata.uid } });
      }
      return fail(new ApiError(405, 'MethodNotAllowed', `the fake API server does not implement ${verb}`));
    } catch (error) {
      if (error instanceof ApiError) return fail(error);
      if (error instanceof SelectorError) return fail(new ApiError(400, 'BadRequest', error.message));
      if (error instanceof SyntaxError) return fail(new ApiError(400, 'BadRequest', `error decoding the body: ${error.message}`));
      return fail(new ApiError(500, 'InternalError', `fake API server bug: ${(error as Error).stack}`));
    }
  }

  private discovery(pathname: string): [number, unknown] {
    const trimmed = pathname.replace(/\/+$/, '');
    if (trimmed === '/version') return [200, { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' }];
    if (trimmed === '/api') return [200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }];
    if (trimmed === '/apis') return [200, groupList(this.types)];
    const parts = trimmed.split('/').filter((part) => part !== '');
    const list = parts[0] === 'api' && parts.length === 2 ? resourceList('', parts[1], this.types) : parts[0] === 'apis' && parts.length === 3 ? resourceList(parts[1], parts[2], this.types) : undefined;
    if (list) return [200, list];
    if (parts[0] === 'apis' && parts.length === 2) {
      const group = (groupList(this.types).groups as { name: string }[]).find((candidate) => candidate.name === parts[1]);
      if (group) return [200, { kind: 'APIGroup', apiVersion: 'v1', ...group }];
    }
    return [404, statusBody(new ApiError(404, 'NotFound', 'the server could not find the requested resource'))];
  }

  private selectors(type: ApiResourceType, query: Record<string, string>) {
    return {
      labels: parseLabelSelector(query.labelSelector),
      fields: parseFieldSelector(query.fieldSelector, ['metadata.name', 'metadata.namespace', ...(type.fieldLabels ?? [])]),
    };
  }

  private listResponse(type: ApiResourceType, namespace: string | undefined, query: Record<string, string>): Record<string, unknown> {
    const { labels, fields } = this.selectors(type, query);
    const current = this.store.currentRevision;
    let revision = current;
    let offset = 0;
    let objects: KubeObject[] | undefined;
    if (query.continue) {
      const token = JSON.parse(Buffer.from(query.continue, 'base64url').toString('utf8')) as { revision: number; offset: number };
      [revision, offset] = [token.revision, token.offset];
      objects = this.store.listAt(type, namespace, revision);
      if (!objects) throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
    } else if (query.resourceVersion && query.resourceVersion !== '0') {
      const wanted = Number(query.resourceVersion);
      if (!Number.isInteger(wanted)) throw new ApiError(400, 'BadRequest', `invalid resource version "${query.resourceVersion}"`);
      if (wanted > current) throw new ApiError(504, 'Timeout', `Too large resource version: ${wanted}, current: ${current}`);
      if (query.resourceVersionMatch === 'Exact') {
        objects = this.store.listAt(type, namespace, wanted);
        if (!objects) throw new ApiError(410, 'Expired', `too old resource version: ${wanted} (${this.store.oldestResumableRevision})`);
        revision = wanted;
      }
    }
    const selected = (objects ?? this.store.list(type, namespace)).filter((object) => labelsMatch(labels, object.metadata.labels) && fieldsMatch(fields, object));
    const limit = query.limit ? Number(query.limit) : 0;
    const page = limit > 0 ? selected.slice(offset, offset + limit) : selected.slice(offset);
    const more = limit > 0 && offset + limit < selected.length;
    const items = page.map((object) => {
      if (!type.builtIn) return object;
      const { apiVersion: _apiVersion, kind: _kind, ...rest } = object;
      return rest;
    });
    const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
    if (more) metadata.continue = Buffer.from(JSON.stringify({ revision, offset: offset + limit })).toString('base64url');
    return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items };
  }

  private startWatch(response: http.ServerResponse, record: RequestRecord, type: ApiResourceType, namespace: string | undefined, query: Record<string, string>): void {
    const { labels, fields } = this.selectors(type, query);
    const rv = query.resourceVersion;
    const resumeFrom = rv === undefined || rv === '' || rv === '0' ? undefined : Number(rv);
    if (resumeFrom !== undefined && !Number.isInteger(resumeFrom)) throw new ApiError(400, 'BadRequest', `invalid resource version "${rv}"`);
    record.status = 200;
    this.watches.start(response, { type, namespace, labels, fields, allowBookmarks: query.allowWatchBookmarks === 'true', timeoutSeconds: query.timeoutSeconds ? Number(query.timeoutSeconds) : undefined }, resumeFrom);
  }
}
