#!/usr/bin/env node
// The package's install script (`npm install` / `npm ci` run it), and `npm run build:native`. It never fails the
// install: anything missing ends in one line and exit code 0, and the library runs plain wasm.
//
// 1. A prebuilt addon for this platform (prebuilds/<platform>-<arch>/, shipped in the package: linux-x64 and
//    linux-arm64, scripts/prebuild-native.js) that loads here: nothing to do.
// 2. Else, with a C++ compiler present (macOS, Windows, another Linux): build native/ from source with node-gyp into
//    native/build/Release, which the library loads next.
// 3. Else one line saying why, and plain wasm (the same line the library prints at the first setBackend('wasm')).
//
//   node scripts/build-native.js [--from-source] [--verbose] [--required]
//     --from-source  build native/ even when a prebuild loads (`npm run build:native`: a developer's local build)
//     --verbose      show node-gyp's output
//     --required     exit 1 instead of 0 when no addon can be had (CI)
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findNodeGyp, localNodeDir } = require('./node-gyp-location');

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const ADDON_FILE = 'tfjs_diffusers_native.node';
const addonPath = path.join(nativeDir, 'build', 'Release', ADDON_FILE);
const prebuildPath = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, ADDON_FILE);
const logPath = path.join(nativeDir, 'build', 'build-native.log');
const verbose = process.argv.includes('--verbose');
const required = process.argv.includes('--required');
const fromSource = process.argv.includes('--from-source');

function done(message, ok) {
  console.log(`tfjs-diffusers: ${message}`);
  process.exit(ok || !required ? 0 : 1);
}

function skip(reason) {
  done(`native kernels not built (${reason}); the wasm backend runs without them.`, false);
}

/** Loads `file` in a child process and calls info(): a missing library or a too old glibc shows here. */
function loadError(file) {
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).info()`], { encoding: 'utf8' });
  return check.status === 0 ? null : lastErrorLine(check.stderr || check.error?.message || '');
}

/** A C++ compiler on PATH (or $CXX); on Windows node-gyp finds Visual Studio itself. */
function hasCompiler() {
  if (process.platform === 'win32') return true;
  const names = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  return names.some((n) => (path.isAbsolute(n) ? fs.existsSync(n) : dirs.some((d) => fs.existsSync(path.join(d, n)))));
}

function lastErrorLine(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.filter((l) => /error|not found|cannot find/i.test(l) && !/^gyp (info|ERR! (cwd|node -v|node-gyp -v|command|System))/.test(l));
  return (error[0] || lines[lines.length - 1] || 'no output').slice(0, 200);
}

function main() {
  const env = process.env.TFJS_DIFFUSERS_NATIVE;
  if (env === '0' || env === 'off') return skip(`TFJS_DIFFUSERS_NATIVE=${env}`);
  let prebuildProblem;
  if (!fromSource && fs.existsSync(prebuildPath)) {
    prebuildProblem = loadError(prebuildPath);
    if (prebuildProblem === null) return done(`prebuilt native kernels for ${process.platform}-${process.arch} (${path.relative(root, prebuildPath)}).`, true);
  }
  const because = prebuildProblem ? `the prebuilt addon does not load here (${prebuildProblem}); ` : '';
  if (!fs.existsSync(path.join(nativeDir, 'binding.gyp'))) return skip(`${because}native/binding.gyp is missing`);
  if (!hasCompiler()) {
    const prebuilt = fs.existsSync(path.dirname(prebuildPath)) ? '' : `no prebuilt addon for ${process.platform}-${process.arch} and `;
    return skip(`${because}${prebuilt}no C++ compiler found`);
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return skip(`${because}node-gyp not found (it comes with npm)`);
  const args = [nodeGyp, 'rebuild'];
  const nodedir = localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const result = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
  if (!verbose) {
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    fs.writeFileSync(logPath, `${result.stdout || ''}${result.stderr || ''}`);
  }
  if (result.error) return skip(`${because}could not run node-gyp: ${result.error.message}`);
  if (result.status !== 0) {
    return skip(`${because}node-gyp failed: ${verbose ? 'see above' : `${lastErrorLine(`${result.stderr}\n${result.stdout}`)}; full log: ${path.relative(root, logPath)}`}`);
  }
  // Load it in a child process: a missing shared library at run time shows here, not in the user's first run.
  const problem = loadError(addonPath);
  if (problem !== null) return skip(`the built addon does not load: ${problem}`);
  const note = fs.existsSync(prebuildPath) && prebuildProblem === undefined ? ` The prebuilt ${path.relative(root, prebuildPath)} is loaded first: \`npm run build:prebuilds\` refreshes it.` : '';
  return done(`native kernels built from source (${path.relative(root, addonPath)}).${note}`, true);
}

main();
