// NodeTokenAuthenticator: one stable, owner-only token per node, and bearer-token checks on CA calls.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { InvalidNodeName, NodeTokenAuthenticator, UnauthenticatedCaller } from '../../../../src/controlplane/ca';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ambit-node-token-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

t.test('each node gets its own 32-byte token, stored with mode 0600 and stable across instances', async (t) => {
  const stateDir = tempDir(t);
  const tokens = new NodeTokenAuthenticator(stateDir);
  const one = await tokens.tokenFor('node-1');
  const two = await tokens.tokenFor('node-2');
  t.match(one, /^[0-9a-f]{64}$/);
  t.not(one, two);
  t.equal(await tokens.tokenFor('node-1'), one);
  const file = path.join(stateDir, 'node-tokens', 'node-1');
  t.equal(fs.readFileSync(file, 'utf8'), one);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  t.same(fs.readdirSync(path.join(stateDir, 'node-tokens')).sort(), ['node-1', 'node-2']);
  t.equal(await new NodeTokenAuthenticator(stateDir).tokenFor('node-1'), one);
  await t.rejects(tokens.tokenFor('../etc'), InvalidNodeName);
});

t.test('a bearer token identifies its node, including tokens made by another process', async (t) => {
  const stateDir = tempDir(t);
  const writer = new NodeTokenAuthenticator(stateDir);
  const reader = new NodeTokenAuthenticator(stateDir);
  const token = await writer.tokenFor('node-2');
  t.same(await reader.authenticate(bearer(token)), { node: 'node-2', caller: 'node-token/node-2' });
  t.same(await reader.authenticate(bearer(token.toUpperCase())), { node: 'node-2', caller: 'node-token/node-2' }, 'hex is case-insensitive');
});

t.test('missing, malformed and unknown tokens are refused', async (t) => {
  const stateDir = tempDir(t);
  const tokens = new NodeTokenAuthenticator(stateDir);
  await tokens.tokenFor('node-1');
  await t.rejects(tokens.authenticate(new grpc.Metadata()), new UnauthenticatedCaller('no "authorization: Bearer <token>" header'));
  await t.rejects(tokens.authenticate(bearer('abc')), { code: 'UNAUTHENTICATED', message: 'the authorization header is not "Bearer <64 hex digits>"' });
  const basic = new grpc.Metadata();
  basic.set('authorization', 'Basic dXNlcjpwYXNz');
  await t.rejects(tokens.authenticate(basic), { code: 'UNAUTHENTICATED' });
  await t.rejects(tokens.authenticate(bearer('0'.repeat(64))), { code: 'UNAUTHENTICATED', message: "the bearer token is not any node's token" });
});
