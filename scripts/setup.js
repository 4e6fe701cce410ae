#!/usr/bin/env node
// `npm install` runs this (as the prepare script): system packages on Debian as root, the TypeScript build, the native addon.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

// command -> Debian package that provides it. Runtime needs the first two; tests, demo and benchmarks the rest.
const NEEDED = [
  ['ip', 'iproute2'],
  ['iptables-restore', 'iptables'],
  ['curl', 'curl'],
  ['openssl', 'openssl'],
  ['tcpdump', 'tcpdump'],
  ['stunnel4', 'stunnel4'],
  ['haproxy', 'haproxy'],
  ['runuser', 'util-linux'],
  ['ps', 'procps'],
];

function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command} || test -x /sbin/${command}`], { stdio: 'ignore' }).status === 0;
}

function step(title, command, args, options = {}) {
  process.stdout.write(`ambit setup: ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    process.stderr.write(`ambit setup: ${title} failed (exit ${result.status}); see the output above\n`);
    process.exit(result.status || 1);
  }
}

function installSystemPackages() {
  if (process.platform !== 'linux') {
    process.stdout.write(`ambit setup: local mode needs Linux; on ${process.platform} only the build runs\n`);
    return;
  }
  const missing = [...new Set(NEEDED.filter(([command]) => !have(command)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const isDebian = fs.existsSync('/etc/debian_version') && have('apt-get');
  if (!isRoot || !isDebian) {
    process.stdout.write(`ambit setup: missing system packages: ${missing.join(' ')} (install them, e.g. apt-get install ${missing.join(' ')})\n`);
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  step(`installing ${missing.join(' ')}`, 'sh', ['-c', `apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing.join(' ')} >/dev/null`], { env });
}

function buildTypeScript() {
  step('compiling TypeScript', process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
}

function buildNativeAddon() {
  const args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', '-C', 'native', '--loglevel=error'];
  // Use the headers installed with Node when present: this machine may not reach the internet to download them.
  const headers = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node', 'node_api.h');
  if (!process.env.npm_config_nodedir && fs.existsSync(headers)) args.push(`--nodedir=${path.dirname(path.dirname(path.dirname(headers)))}`);
  step('building the native addon (native/)', process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

installSystemPackages();
buildTypeScript();
buildNativeAddon();
process.stdout.write('ambit setup: done. Try: npm start (as root), npm test\n');
