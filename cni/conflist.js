#!/usr/bin/env node
// Adds ambit's chained plugin entries to a node's primary CNI network config, or removes them, the way container
// runtimes read it: the lexically first *.conflist / *.conf / *.json file in the directory is the network.
//   node conflist.js add    CONF_DIR ENTRY.conflist [AGENT_SOCKET]   prints the file it changed
//   node conflist.js remove CONF_DIR                                 prints the file it changed, if any
//   node conflist.js primary CONF_DIR                                prints the primary file, exit 1 if none
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const PLUGIN_TYPE = 'ambit-cni';

function fail(message) {
  process.stderr.write(`conflist: ${message}\n`);
  process.exit(1);
}

/** The file the container runtime uses: the first config in lexical order (ours excluded by type, not by name). */
function primary(dir) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    return undefined;
  }
  const candidates = names.filter((name) => /\.(conflist|conf|json)$/.test(name)).sort();
  for (const name of candidates) {
    const file = path.join(dir, name);
    try {
      const config = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (config && typeof config === 'object') return { file, config };
    } catch {
      // A half-written file from the primary CNI: skip it, as the runtime would fail on it too.
    }
  }
  return undefined;
}

/** A single-plugin .conf becomes a .conflist (only a list can chain). */
function asList(config) {
  if (Array.isArray(config.plugins)) return config;
  const { cniVersion, name, ...plugin } = config;
  return { cniVersion, name, plugins: [plugin] };
}

function writeAtomic(file, config) {
  const temporary = `${file}.ambit.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  fs.renameSync(temporary, file);
}

const [command, dir, entryFile, agentSocket] = process.argv.slice(2);
if (!dir) fail('usage: conflist.js add|remove|primary CONF_DIR [ENTRY.conflist] [AGENT_SOCKET]');
const found = primary(dir);
if (command === 'primary') {
  if (!found) process.exit(1);
  process.stdout.write(`${found.file}\n`);
} else if (command === 'add') {
  if (!found) fail(`no CNI network config in ${dir} yet; is the cluster's network plugin installed?`);
  if (!entryFile) fail('add needs the file with ambit\'s plugin entries');
  const entries = asList(JSON.parse(fs.readFileSync(entryFile, 'utf8'))).plugins.map((entry) => (agentSocket && entry.type === PLUGIN_TYPE ? { ...entry, agentSocket } : entry));
  const list = asList(found.config);
  const plugins = list.plugins.filter((plugin) => plugin.type !== PLUGIN_TYPE);
  const next = { ...list, plugins: [...plugins, ...entries] };
  const target = found.file.endsWith('.conflist') ? found.file : found.file.replace(/\.(conf|json)$/, '.conflist');
  writeAtomic(target, next);
  if (target !== found.file) fs.rmSync(found.file);
  process.stdout.write(`${target}\n`);
} else if (command === 'remove') {
  if (!found) process.exit(0);
  const list = asList(found.config);
  const plugins = list.plugins.filter((plugin) => plugin.type !== PLUGIN_TYPE);
  if (plugins.length === list.plugins.length) process.exit(0);
  writeAtomic(found.file, { ...list, plugins });
  process.stdout.write(`${found.file}\n`);
} else {
  fail(`unknown command ${command}; use add, remove or primary`);
}
