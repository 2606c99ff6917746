#!/usr/bin/env node
// Builds the optional native kernels (native/: oneDNN convolutions and matmuls, fused GroupNorm) with node-gyp
// against the system oneDNN (Debian/Ubuntu: `apt install libdnnl-dev`). Run by `npm install` / `npm ci`; it never
// fails the install: anything missing ends in one line and exit code 0, and the library runs plain wasm.
//
//   node scripts/build-native.js [--verbose] [--required]
//     --verbose   show node-gyp's output
//     --required  exit 1 instead of 0 when the addon cannot be built (CI)
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const addonPath = path.join(nativeDir, 'build', 'Release', 'tfjs_diffusers_native.node');
const logPath = path.join(nativeDir, 'build', 'build-native.log');
const verbose = process.argv.includes('--verbose');
const required = process.argv.includes('--required');

function done(message, ok) {
  console.log(`tfjs-diffusers: ${message}`);
  process.exit(ok || !required ? 0 : 1);
}

function skip(reason) {
  done(`native kernels not built (${reason}); the wasm backend runs without them.`, false);
}

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

/** The oneDNN C++ header in the compiler's usual places (or under $DNNL_ROOT/include). */
function findDnnlHeader() {
  const dirs = ['/usr/include', '/usr/local/include', '/opt/homebrew/include'];
  if (process.env.DNNL_ROOT) dirs.unshift(path.join(process.env.DNNL_ROOT, 'include'));
  return dirs.map((d) => path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')).find((p) => fs.existsSync(p));
}

/** node's own headers when they are installed (Debian, nodesource, official tarballs): no download needed. */
function localNodeDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function lastErrorLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.filter((l) => /error|not found|cannot find/i.test(l) && !/^gyp (info|ERR! (cwd|node -v|node-gyp -v|command|System))/.test(l));
  return (error[0] || lines[lines.length - 1] || 'no output').slice(0, 200);
}

function main() {
  const env = process.env.TFJS_DIFFUSERS_NATIVE;
  if (env === '0' || env === 'off') return skip(`TFJS_DIFFUSERS_NATIVE=${env}`);
  if (process.platform !== 'linux') return skip(`the build is set up for Linux, this is ${process.platform}`);
  if (!fs.existsSync(path.join(nativeDir, 'binding.gyp'))) return skip('native/binding.gyp is missing');
  if (!findDnnlHeader()) return skip('oneDNN headers not found: `apt install libdnnl-dev`');
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return skip('node-gyp not found (it comes with npm)');
  const args = [nodeGyp, 'rebuild'];
  const nodedir = localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const result = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
  if (!verbose) {
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    fs.writeFileSync(logPath, `${result.stdout || ''}${result.stderr || ''}`);
  }
  if (result.error) return skip(`could not run node-gyp: ${result.error.message}`);
  if (result.status !== 0) {
    return skip(`node-gyp failed: ${verbose ? 'see above' : `${lastErrorLine(`${result.stderr}\n${result.stdout}`)}; full log: ${path.relative(root, logPath)}`}`);
  }
  // Load it in a child process: a missing libdnnl.so at run time shows here, not in the user's first run.
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addonPath)}).info()`], { encoding: 'utf8' });
  if (check.status !== 0) return skip(`the built addon does not load: ${lastErrorLine(check.stderr || '')}`);
  return done(`native oneDNN kernels built (${path.relative(root, addonPath)}).`, true);
}

main();
