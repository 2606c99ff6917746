// Where node-gyp and Node's headers are, for the two scripts that run node-gyp: the install script
// (scripts/build-native.js, shipped in the package) and the prebuild script (scripts/prebuild-native.js).
'use strict';
const fs = require('fs');
const path = require('path');

/** npm's own node-gyp (npm sets npm_config_node_gyp for scripts), an installed one, or the one next to node. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package
  }
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((p) => p && fs.existsSync(p));
}

/** node's own headers when they are installed: no download needed. */
function localNodeDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

module.exports = { findNodeGyp, localNodeDir };
