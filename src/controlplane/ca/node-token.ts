// Local-mode caller authentication for the CA: one random 32-byte bearer token per node, kept under <stateDir>/node-tokens.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { CaCaller } from './issuance-plan';

/** Node names become file names, so only DNS-1123 subdomains (what Kubernetes allows) are accepted. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TOKEN = /^[0-9a-f]{64}$/;

export class UnauthenticatedCaller extends Error {
  readonly code = 'UNAUTHENTICATED' as const;
  constructor(reason: string) {
    super(reason);
    this.name = 'UnauthenticatedCaller';
  }
}

export class InvalidNodeName extends Error {
  readonly code = 'INVALID_NODE_NAME' as const;
  constructor(readonly node: string) {
    super(`node name ${JSON.stringify(node)} is not a valid Kubernetes node name (lowercase letters, digits, '-' and '.')`);
    this.name = 'InvalidNodeName';
  }
}

/** A token file that exists but does not hold a token; ambit will not overwrite it silently. */
export class InvalidNodeToken extends Error {
  readonly code = 'INVALID_NODE_TOKEN' as const;
  constructor(readonly file: string) {
    super(`${file} does not hold a 64-hex-digit token; delete it to let ambit make a new one`);
    this.name = 'InvalidNodeToken';
  }
}

export class NodeTokenAuthenticator {
  /** Directory holding one file per node, named after the node, containing its token in hex. */
  readonly dir: string;
  private tokens = new Map<string, Buffer>();

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'node-tokens');
  }

  /** The node's token (64 hex characters), created with mode 0600 on first use and stable afterwards. */
  async tokenFor(node: string): Promise<string> {
    if (!NODE_NAME.test(node)) throw new InvalidNodeName(node);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, node);
    const existing = await readToken(file);
    if (existing !== undefined) {
      this.tokens.set(node, Buffer.from(existing, 'hex'));
      return existing;
    }
    const token = crypto.randomBytes(32).toString('hex');
    const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(temporary, token, { mode: 0o600, flag: 'wx' });
    try {
      // link() refuses to replace an existing file, so two processes racing for a new node agree on one token.
      await fs.link(temporary, file);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    } finally {
      await fs.rm(temporary, { force: true });
    }
    const stored = await readToken(file);
    if (stored === undefined) throw new InvalidNodeToken(file);
    this.tokens.set(node, Buffer.from(stored, 'hex'));
    return stored;
  }

  /** Accepts `authorization: Bearer <token>` naming some node's token; throws UnauthenticatedCaller otherwise. */
  readonly authenticate = async (metadata: grpc.Metadata): Promise<CaCaller> => {
    const header = metadata.get('authorization')[0];
    if (header === undefined) throw new UnauthenticatedCaller('no "authorization: Bearer <token>" header');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(typeof header === 'string' ? header : header.toString('latin1'));
    const presented = match?.[1]?.toLowerCase();
    if (presented === undefined || !TOKEN.test(presented)) throw new UnauthenticatedCaller('the authorization header is not "Bearer <64 hex digits>"');
    const token = Buffer.from(presented, 'hex');
    let node = this.match(token);
    if (node === undefined) {
      // A node's token may have been created by another process (e.g. the supervisor) since we last looked.
      await this.reload();
      node = this.match(token);
    }
    if (node === undefined) throw new UnauthenticatedCaller('the bearer token is not any node\'s token');
    return { node, caller: `node-token/${node}` };
  };

  /** Compares against every known token without stopping early, so timing does not reveal which one was close. */
  private match(token: Buffer): string | undefined {
    let found: string | undefined;
    for (const [node, known] of this.tokens) {
      if (crypto.timingSafeEqual(known, token) && found === undefined) found = node;
    }
    return found;
  }

  private async reload(): Promise<void> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    const tokens = new Map<string, Buffer>();
    for (const entry of entries) {
      if (!NODE_NAME.test(entry) || entry.endsWith('.tmp')) continue;
      const token = await readToken(path.join(this.dir, entry));
      if (token !== undefined) tokens.set(entry, Buffer.from(token, 'hex'));
    }
    this.tokens = tokens;
  }
}

async function readToken(file: string): Promise<string | undefined> {
  try {
    const text = (await fs.readFile(file, 'utf8')).trim().toLowerCase();
    return TOKEN.test(text) ? text : undefined;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
