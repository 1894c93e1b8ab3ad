#!/usr/bin/env node
// Builds the native addon, and only the addon: package.json's `install`
// script, so it runs wherever the package lands (a clone's `npm ci`, or
// `npm install -g ethburst-x.tgz`). The TypeScript is compiled before
// packing (`prepare`), never here: a user's install has no dev dependencies.
//
// Two things npm's default `node-gyp rebuild` gets wrong for us:
// - Headers. Without a `nodedir`, node-gyp downloads them from nodejs.org;
//   nothing but npm packages may be downloaded at install, and the running
//   Node already has them: official tarballs and NodeSource/Debian packages
//   put them in <prefix>/include/node, next to <prefix>/bin/node. So we
//   pass that prefix, unless the user configured a nodedir themselves.
// - `rebuild` starts with `clean`, which deletes build/ and with it the
//   compiled JavaScript in build/dist that the tarball ships. `configure
//   build` leaves build/dist alone.
//
// node-gyp itself is npm's own copy: npm puts its path in
// npm_config_node_gyp for every script (npm's `node-gyp` config: "By default
// it uses one that ships with npm itself"), the copy npm uses for any
// package with a binding.gyp, so it is not a dependency of ours.
//
// Every failure a user can fix ends in one line saying what to install.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const env = process.env;

function fail(message) {
  process.stderr.write(`ethburst: cannot build the native addon: ${message}\n`);
  process.exit(1);
}

function onPath(command) {
  if (command.includes('/')) return isExecutable(command) ? command : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Toolchain first: node-gyp's own errors for a missing compiler are pages
// of gyp output that never name the package to install.
const cxx = (env.CXX ?? 'g++').trim().split(/\s+/)[0];
const python = env.npm_config_python || env.PYTHON || (onPath('python3') ? 'python3' : 'python');
const missing = [
  [cxx, 'g++'],
  ['make', 'make'],
  [python, 'python3'],
]
  .filter(([command]) => !onPath(command))
  .map(([, pkg]) => pkg);
if (missing.length > 0) {
  fail(`${missing.join(', ')} not found; install a C++ toolchain (Debian/Ubuntu: apt-get install g++ make python3) and install ethburst again`);
}

// Headers: an explicit nodedir (npm config or environment) wins; otherwise
// the running Node's own prefix.
const gypArgs = ['configure', 'build'];
if (!env.npm_config_nodedir) {
  const prefix = dirname(dirname(process.execPath));
  const headers = join(prefix, 'include', 'node');
  if (!existsSync(join(headers, 'node_api.h'))) {
    fail(
      `no Node headers at ${headers} (for ${process.execPath}); install the ones matching this Node ` +
        `(Debian's nodejs: apt-get install libnode-dev; official and NodeSource builds include them) or set npm_config_nodedir`,
    );
  }
  gypArgs.push(`--nodedir=${prefix}`);
}

const nodeGyp = env.npm_config_node_gyp;
const [command, args] =
  nodeGyp && existsSync(nodeGyp) ? [process.execPath, [nodeGyp, ...gypArgs]] : ['node-gyp', gypArgs];
const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
if (result.error) {
  fail(`cannot run node-gyp (${result.error.message}); run the install through npm, which brings its own node-gyp`);
}
if (result.status !== 0) {
  fail(`node-gyp ${gypArgs.join(' ')} failed (the compiler output is above); it needs g++, make, python3 and the Node headers`);
}
