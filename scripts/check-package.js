#!/usr/bin/env node
/**
 * Checks the npm tarball as it would be published (CI runs it after `npm ci && npm test`):
 * - its size against the budget below;
 * - the prebuilt native addons (prebuilds/linux-x64, prebuilds/linux-arm64) are inside, built from the native/ sources
 *   it ships (GNU build id = their sha256), and need nothing beyond glibc (DT_NEEDED; `ldd` for this machine's one)
 *   and no glibc newer than scripts/prebuild-native.js' MAX_GLIBC;
 * - @arethetypeswrong/cli: every entry resolves to JavaScript and matching types under node10, node16 (CJS and
 *   ESM) and bundler resolution;
 * - publint: package.json's fields and exports point at files that exist and have the right format.
 * Any problem (or suggestion) fails it.
 *
 *   node scripts/check-package.js [tarball.tgz]   # without an argument it runs `npm pack` (which builds) into a temp folder
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { elfInfo, compareVersions, ALLOWED_NEEDED } = require('./elf-info');
const { sourcesSha256, TARGETS, ADDON_FILE, MAX_GLIBC } = require('./prebuild-native');

/**
 * The budget: 5.0 MB packed, 12.0 MB unpacked. Measured 4.11 MB / 9.12 MB before the scheduler work of issue 20 and
 * 4.55 MB packed / 10.99 MB unpacked after it (eleven more schedulers, the denoising loop and pipelines, provenance and
 * the webgpu path, with their declarations and inline-source maps). Of the 9.12 MB: the embedded model's weights are
 * 2.3 MB, the browser bundle with its three .wasm files 2.9 MB, the source maps with their inlined sources 1.5 MB, and
 * the two prebuilt native addons 0.98 MB: linux-x64 0.52 MB, linux-arm64 0.46 MB, stripped). Today 4.65 MB / 11.32 MB,
 * the x64 addon 0.60 MB with its avx512-emulated test path (the AVX-512 kernels on AVX2, +0.09 MB); the budget leaves
 * room for growth, and a change that ships source maps of the bundled tfjs (7 MB), test data or unstripped addons fails it.
 */
const PACKED_BYTES_BUDGET = 5.0e6;
const UNPACKED_BYTES_BUDGET = 12.0e6;

const ROOT = path.resolve(__dirname, '..');

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', ...options });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(), error: result.error };
}

function main() {
  let tarball = process.argv[2];
  let sizes;
  if (!tarball) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-pack-'));
    const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (pack.status !== 0) throw new Error('npm pack failed');
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
    tarball = path.join(dir, info.filename);
    sizes = { packed: info.size, unpacked: info.unpackedSize };
  } else {
    const listing = spawnSync('tar', ['-tvzf', tarball], { encoding: 'utf8' });
    const unpacked = listing.stdout.split('\n').filter(Boolean).reduce((sum, line) => sum + Number(line.split(/\s+/)[2]), 0);
    sizes = { packed: fs.statSync(tarball).size, unpacked };
  }
  const problems = [];
  const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
  console.log(`${path.basename(tarball)}: ${mb(sizes.packed)} packed, ${mb(sizes.unpacked)} unpacked (budget ${mb(PACKED_BYTES_BUDGET)} / ${mb(UNPACKED_BYTES_BUDGET)})`);
  if (sizes.packed > PACKED_BYTES_BUDGET) problems.push(`packed size ${mb(sizes.packed)} exceeds the budget of ${mb(PACKED_BYTES_BUDGET)}`);
  if (sizes.unpacked > UNPACKED_BYTES_BUDGET) problems.push(`unpacked size ${mb(sizes.unpacked)} exceeds the budget of ${mb(UNPACKED_BYTES_BUDGET)}`);

  problems.push(...prebuildProblems(tarball));

  const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
  const attw = run(bin('attw'), [tarball, '--format', 'ascii']);
  console.log(`attw: ${attw.ok ? 'no problems' : 'PROBLEMS'}`);
  if (!attw.ok) problems.push(`@arethetypeswrong/cli:\n${attw.output}`);
  const publint = run(bin('publint'), ['run', tarball, '--level', 'suggestion', '--strict']);
  const publintClean = publint.ok && /All good!/.test(publint.output);
  console.log(`publint: ${publintClean ? 'all good' : 'PROBLEMS'}`);
  if (!publintClean) problems.push(`publint:\n${publint.output}`);

  if (problems.length > 0) {
    console.error(`check-package: ${problems.join('\n')}`);
    process.exit(1);
  }
}

/** What is wrong with the prebuilt addons inside `tarball` (an empty list when nothing). */
function prebuildProblems(tarball) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-unpack-'));
  const problems = [];
  try {
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', dir], { encoding: 'utf8' });
    if (untar.status !== 0) return [`cannot unpack ${tarball}: ${untar.stderr}`];
    const pkg = path.join(dir, 'package');
    const hash = sourcesSha256(path.join(pkg, 'native'));
    for (const { tag, machine } of Object.values(TARGETS)) {
      const file = path.join(pkg, 'prebuilds', tag, ADDON_FILE);
      if (!fs.existsSync(file)) {
        problems.push(`prebuilds/${tag}/${ADDON_FILE} is not in the tarball`);
        continue;
      }
      const info = elfInfo(fs.readFileSync(file));
      const extra = info.needed.filter((n) => !ALLOWED_NEEDED.test(n));
      let ldd = '';
      if (tag === `${process.platform}-${process.arch}`) {
        const out = spawnSync('ldd', [file], { encoding: 'utf8' });
        const libs = (out.stdout || '').split('\n').map((l) => path.basename(l.trim().split(/\s+/)[0] || '')).filter((l) => l && !l.startsWith('linux-vdso'));
        extra.push(...libs.filter((l) => !ALLOWED_NEEDED.test(l) && !extra.includes(l)));
        ldd = `; ldd: ${libs.join(', ')}`;
      }
      console.log(
        `prebuilds/${tag}: ${(fs.statSync(file).size / 1e6).toFixed(2)} MB, ${info.machine}, needs ${info.needed.join(', ')}${ldd}; glibc >= ${info.maxGlibc}; ` +
          `${info.buildId === hash ? 'built from the shipped native/' : 'NOT built from the shipped native/'}`,
      );
      if (info.machine !== machine) problems.push(`prebuilds/${tag} is ${info.machine}, not ${machine}`);
      if (extra.length > 0) problems.push(`prebuilds/${tag} needs ${extra.join(', ')} beyond glibc`);
      if (info.maxGlibc && compareVersions(info.maxGlibc, MAX_GLIBC) > 0) problems.push(`prebuilds/${tag} needs glibc ${info.maxGlibc} > ${MAX_GLIBC}`);
      if (info.buildId !== hash) problems.push(`prebuilds/${tag} was not built from the native/ sources in the tarball: \`npm run build:prebuilds\``);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

module.exports = { PACKED_BYTES_BUDGET, UNPACKED_BYTES_BUDGET };

if (require.main === module) main();
