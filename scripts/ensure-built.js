#!/usr/bin/env node
/**
 * Builds what the tests need when it is missing or older than its sources: the Node build (dist/, `npm run build`)
 * and the browser builds (dist/browser/, `npm run build:browser`). jest's globalSetup (spec/global-setup.js) calls it,
 * so that `npm ci && npm test` works on a fresh clone; run by hand it builds both when stale.
 *
 *   node scripts/ensure-built.js          # both
 *   node scripts/ensure-built.js node     # the Node build only (`npm start`)
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');

/** Newest modification time (ms) of the files under `paths` (files or folders, recursively); `skip` is a folder to leave out. */
function newestMtime(paths, skip) {
  let newest = 0;
  const visit = (p) => {
    if (skip && (p === skip || p.startsWith(skip + path.sep))) return;
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const p of paths) visit(path.join(ROOT, p));
  return newest;
}

/** Why `output` must be rebuilt from `inputs`, or null when it is up to date. */
function staleReason(output, inputs, skip) {
  const stat = fs.statSync(path.join(ROOT, output), { throwIfNoEntry: false });
  if (!stat) return `${output} is missing`;
  return newestMtime(inputs, skip && path.join(ROOT, skip)) > stat.mtimeMs ? `${output} is older than its sources` : null;
}

/** The builds: the file each writes last, what it is made from, and the npm script that makes it. */
const BUILDS = {
  node: {
    output: 'dist/index.mjs',
    inputs: ['lib', 'tsconfig.json', 'tsconfig.build.json', 'scripts/write-esm-entry.js', 'package.json'],
    script: 'build',
  },
  browser: {
    output: 'dist/browser/tfjs-diffusers.esm.js',
    inputs: ['lib', 'scripts/build-browser.js', 'package.json'],
    skip: 'lib/node',
    script: 'build:browser',
  },
};

/** Runs the npm scripts of the stale builds among `which`; throws when one fails. Returns what was built. */
function ensureBuilt(which = Object.keys(BUILDS), log = (line) => process.stderr.write(`${line}\n`)) {
  const built = [];
  for (const name of which) {
    const build = BUILDS[name];
    const reason = staleReason(build.output, build.inputs, build.skip);
    if (reason === null) continue;
    log(`tfjs-diffusers: ${reason}: running \`npm run ${build.script}\``);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['run', '--silent', build.script], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) {
      throw new Error(`\`npm run ${build.script}\` failed (${result.error ? result.error.message : `exit code ${result.status}`})`);
    }
    built.push(name);
  }
  return built;
}

module.exports = { ensureBuilt, BUILDS };

if (require.main === module) {
  try {
    // `node scripts/ensure-built.js node` (what `npm start` runs): only the Node build, only when its sources changed.
    const which = process.argv.slice(2);
    const unknown = which.filter((name) => !Object.prototype.hasOwnProperty.call(BUILDS, name));
    if (unknown.length > 0) throw new Error(`unknown build ${unknown.join(', ')}; expected ${Object.keys(BUILDS).join(', ')}`);
    ensureBuilt(which.length > 0 ? which : undefined);
  } catch (err) {
    console.error(`tfjs-diffusers: ${err.message}`);
    process.exit(1);
  }
}
