#!/usr/bin/env node
// Builds the prebuilt native addons the npm package carries, from native/ (binding.gyp, src/), in the prebuildify /
// node-gyp-build layout:
//
//   prebuilds/linux-x64/tfjs_diffusers_native.node     node-gyp with the host's g++
//   prebuilds/linux-arm64/tfjs_diffusers_native.node   node-gyp --arch=arm64 with Debian's g++-aarch64-linux-gnu
//   prebuilds/SOURCES.sha256                           the hash of the sources they were built from
//
// N-API (NAPI_VERSION in binding.gyp), so one binary serves every Node >= 20. Each is linked with
// -static-libstdc++ -static-libgcc, so it needs nothing but glibc (libc, libm, libpthread, libdl, the loader), and
// carries the sha256 of native/ as its GNU build id (-Wl,--build-id=0x…): spec/package/prebuilds.spec.ts compares
// that with the tree (and the addon's own info().sourceHash with native/src), so a change to native/ without
// `npm run build:prebuilds` fails the tests. The binaries are committed, so a clone or an `npm ci` on a machine
// with no compiler gets them.
//
//   node scripts/prebuild-native.js [--arch x64,arm64] [--check] [--native-dir DIR --out DIR]
//     --arch        the targets to build (default: both)
//     --check       build nothing: say whether the committed prebuilds match the sources (exit 1 when not)
//     --native-dir  build another addon folder (binding.gyp + src/) instead of native/, into --out (a dry run of the
//                   toolchains)
//
// Needs: a C++ compiler (g++), for arm64 g++-aarch64-linux-gnu (`apt install g++-aarch64-linux-gnu`), Node's headers
// (installed with Debian's / nodesource's node, or downloaded by node-gyp).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { elfInfo, compareVersions, ALLOWED_NEEDED } = require('./elf-info');
const { findNodeGyp, localNodeDir } = require('./node-gyp-location');

const ROOT = path.resolve(__dirname, '..');
const ADDON_FILE = 'tfjs_diffusers_native.node';

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : path.resolve(process.argv[i + 1]);
}
const NATIVE_DIR = option('--native-dir', path.join(ROOT, 'native'));
const PREBUILDS_DIR = option('--out', path.join(ROOT, 'prebuilds'));
const SOURCES_FILE = path.join(PREBUILDS_DIR, 'SOURCES.sha256');

/**
 * The newest glibc symbol version a prebuild may need, which makes it the oldest glibc it loads on. Built with
 * Debian 12's GCC 12 and glibc 2.36, the statically linked libstdc++/libgcc bring in arc4random (2.36),
 * _dl_find_object (2.35) and the 2.34 pthread symbols: Debian 12, Ubuntu 22.10+, the node:20 / node:22 images.
 * Older systems fall back to a local build or plain wasm (docs/reproducibility.md). A newer build host fails here.
 */
const MAX_GLIBC = '2.36';

/** The cross toolchains: node-gyp's --arch, the GNU triple of the compiler, the ELF machine. */
const TARGETS = {
  x64: { tag: 'linux-x64', triple: 'x86_64-linux-gnu', machine: 'x86-64' },
  arm64: { tag: 'linux-arm64', triple: 'aarch64-linux-gnu', machine: 'aarch64' },
};

/** The files the addon is built from: everything under native/ but native/build, sorted, as repository paths. */
function sourceFiles(nativeDir = NATIVE_DIR) {
  const files = [];
  const visit = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory() && p !== path.join(nativeDir, 'build')) visit(p);
      else if (entry.isFile()) files.push(p);
    }
  };
  visit(nativeDir);
  return files.map((f) => path.relative(path.dirname(nativeDir), f).split(path.sep).join('/')).sort();
}

/**
 * sha256 over the addon's sources: for each file of {@link sourceFiles}, its repository path, a NUL, its length, a
 * NUL and its bytes (CRLF read as LF, so a Windows checkout hashes the same).
 */
function sourcesSha256(nativeDir = NATIVE_DIR) {
  const hash = crypto.createHash('sha256');
  for (const rel of sourceFiles(nativeDir)) {
    const bytes = Buffer.from(fs.readFileSync(path.join(path.dirname(nativeDir), rel), 'latin1').replace(/\r\n/g, '\n'), 'latin1');
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

function run(cmd, args, options) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', stdio: 'inherit', ...options });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status})`);
  return result;
}

/** Builds one target in a copy of native/ (the local native/build stays as it is) and returns the addon's path. */
function build(arch, hash) {
  const target = TARGETS[arch];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `tfjs-diffusers-prebuild-${arch}-`));
  fs.cpSync(NATIVE_DIR, work, { recursive: true, filter: (src) => src !== path.join(NATIVE_DIR, 'build') });
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) throw new Error('node-gyp not found (it comes with npm)');
  const args = [nodeGyp, 'rebuild', `--arch=${arch}`];
  const nodedir = localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const cross = arch !== (process.arch === 'arm64' ? 'arm64' : 'x64');
  const tool = (name) => (cross ? `${target.triple}-${name}` : name);
  const env = {
    ...process.env,
    CC: tool('gcc'),
    CXX: tool('g++'),
    LINK: tool('g++'),
    AR: tool('ar'),
    // gyp's Makefile appends LDFLAGS to every link: glibc only at run time, and the sources' hash as the build id.
    LDFLAGS: `${process.env.LDFLAGS ?? ''} -static-libstdc++ -static-libgcc -Wl,--build-id=0x${hash}`.trim(),
  };
  console.log(`prebuild-native: ${target.tag}: node-gyp ${args.slice(1).join(' ')} (CXX=${env.CXX})`);
  try {
    run(process.execPath, args, { cwd: work, env });
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }
  const built = path.join(work, 'build', 'Release', ADDON_FILE);
  const stripped = path.join(work, `${ADDON_FILE}.stripped`);
  // Symbols are not needed to load an N-API addon; the build id note stays.
  run(tool('strip'), ['--strip-unneeded', '-o', stripped, built]);
  return { work, file: stripped };
}

/** Problems of a prebuilt addon: wrong machine, a library beyond glibc's, or not built from `hash`. */
function problemsOf(file, arch, hash) {
  const info = elfInfo(fs.readFileSync(file));
  const problems = [];
  if (info.machine !== TARGETS[arch].machine) problems.push(`machine ${info.machine}, expected ${TARGETS[arch].machine}`);
  const extra = info.needed.filter((n) => !ALLOWED_NEEDED.test(n));
  if (extra.length > 0) problems.push(`needs ${extra.join(', ')} beyond glibc`);
  if (info.maxGlibc && compareVersions(info.maxGlibc, MAX_GLIBC) > 0) problems.push(`needs glibc ${info.maxGlibc}, newer than the ${MAX_GLIBC} the package promises`);
  if (info.buildId !== hash) problems.push(`build id ${info.buildId ?? 'none'} is not the sources' sha256 ${hash}`);
  return { info, problems };
}

function main() {
  const argv = process.argv.slice(2);
  const archArg = argv.includes('--arch') ? argv[argv.indexOf('--arch') + 1] : 'x64,arm64';
  const arches = archArg.split(',').map((s) => s.trim());
  for (const a of arches) if (!TARGETS[a]) throw new Error(`--arch ${archArg}: unknown '${a}'; expected x64, arm64 or both`);
  const hash = sourcesSha256();

  if (argv.includes('--check')) {
    let ok = true;
    for (const arch of arches) {
      const file = path.join(PREBUILDS_DIR, TARGETS[arch].tag, ADDON_FILE);
      if (!fs.existsSync(file)) {
        console.log(`prebuild-native: ${path.relative(ROOT, file)} is missing`);
        ok = false;
        continue;
      }
      const { problems } = problemsOf(file, arch, hash);
      console.log(`prebuild-native: ${path.relative(ROOT, file)}: ${problems.length === 0 ? 'up to date' : problems.join('; ')}`);
      ok &&= problems.length === 0;
    }
    if (!ok) console.log('prebuild-native: run `npm run build:prebuilds` to rebuild them from native/');
    process.exit(ok ? 0 : 1);
  }

  for (const arch of arches) {
    const { work, file } = build(arch, hash);
    const { info, problems } = problemsOf(file, arch, hash);
    if (problems.length > 0) {
      fs.rmSync(work, { recursive: true, force: true });
      throw new Error(`${TARGETS[arch].tag}: ${problems.join('; ')}`);
    }
    const dest = path.join(PREBUILDS_DIR, TARGETS[arch].tag, ADDON_FILE);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    fs.copyFileSync(file, tmp);
    fs.renameSync(tmp, dest);
    fs.rmSync(work, { recursive: true, force: true });
    console.log(
      `prebuild-native: wrote ${path.relative(ROOT, dest)} (${(fs.statSync(dest).size / 1e6).toFixed(2)} MB; needs ${info.needed.join(', ')}; ` +
        `glibc >= ${info.maxGlibc})`,
    );
  }
  fs.writeFileSync(SOURCES_FILE, `${hash}  native/ (every file but native/build)\n`);
  console.log(`prebuild-native: sources sha256 ${hash}`);
}

module.exports = { sourceFiles, sourcesSha256, problemsOf, TARGETS, ADDON_FILE, MAX_GLIBC };

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`prebuild-native: ${err.message}`);
    process.exit(1);
  }
}
