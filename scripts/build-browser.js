#!/usr/bin/env node
/**
 * Builds the browser ESM bundle: lib/browser.ts -> dist/browser/tfjs-diffusers.esm.js, with the wasm backend's
 * .wasm files copied beside it (the browser setBackend points setWasmPaths at the bundle's folder).
 *
 *   node scripts/build-browser.js            # readable bundle + source map
 *   node scripts/build-browser.js --minify   # minified
 *
 * `require('./build-browser').buildBrowserBundle({ lib, outDir })` builds another copy of lib/ (the browser
 * sensitivity spec bundles a patched temporary copy) into another folder, with the same options and rule.
 *
 * One rule keeps Node out of the page: nothing under lib/node/ may be reached from lib/browser.ts. lib/node/ is the
 * only folder allowed to import Node built-ins and Node-only packages (spec/architecture/import-graph.spec.ts
 * enforces that on the source); this build fails, naming the importing file, if the browser entry reaches it.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
const OUT_DIR = path.join(ROOT, 'dist', 'browser');
const WASM_DIST = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');

/** esbuild plugin: a file of `lib` that imports `lib`/node/ is an error in the browser bundle. */
const noNodeFolderPlugin = (LIB) => ({
  name: 'tfjs-diffusers-no-node-folder',
  setup(build) {
    const NODE_ONLY_DIR = path.join(LIB, 'node');
    build.onResolve({ filter: /^\./ }, (args) => {
      if (!args.importer.startsWith(LIB + path.sep)) return undefined;
      const target = path.resolve(args.resolveDir, args.path);
      if (target !== NODE_ONLY_DIR && !target.startsWith(NODE_ONLY_DIR + path.sep)) return undefined;
      const importer = path.relative(ROOT, args.importer).split(path.sep).join('/');
      return {
        errors: [
          {
            text:
              `${importer} imports '${args.path}' from lib/node/ (Node-only), so it cannot be in the browser bundle: ` +
              'keep Node code behind lib/loading/platform-loaders.ts, or out of lib/browser.ts\'s imports',
          },
        ],
      };
    });
  },
});

/**
 * Bundles `lib`/browser.ts into `outDir`/tfjs-diffusers.esm.js and copies the wasm backend's .wasm files beside it.
 * Returns the bundle's path, its size and how many files of `lib` it holds.
 */
async function buildBrowserBundle({ lib = LIB, outDir = OUT_DIR, minify = false } = {}) {
  const outFile = path.join(outDir, 'tfjs-diffusers.esm.js');
  fs.mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(lib, 'browser.ts')],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    sourcemap: true,
    minify,
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
    // lib/backends/set-backend-browser.ts reads this to find the .wasm files next to the bundle.
    banner: { js: 'const __TFJS_DIFFUSERS_BUNDLE_URL__ = import.meta.url;' },
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [noNodeFolderPlugin(lib)],
  });

  const wasmFiles = fs.readdirSync(WASM_DIST).filter((f) => f.endsWith('.wasm'));
  for (const file of wasmFiles) fs.copyFileSync(path.join(WASM_DIST, file), path.join(outDir, file));

  const libPrefix = path.relative(process.cwd(), lib).split(path.sep).join('/') + '/';
  const libFiles = Object.keys(result.metafile.inputs).filter((p) => p.startsWith(libPrefix)).length;
  return { outFile, bytes: fs.statSync(outFile).size, libFiles, wasmFiles };
}

async function main() {
  const { outFile, bytes, libFiles, wasmFiles } = await buildBrowserBundle({ minify: process.argv.includes('--minify') });
  console.log(
    `${path.relative(ROOT, outFile)}: ${(bytes / 1e6).toFixed(2)} MB, ${libFiles} library files, ` +
      `${wasmFiles.length} .wasm files copied (${wasmFiles.join(', ')})`,
  );
}

module.exports = { buildBrowserBundle };

if (require.main === module) {
  main().catch((err) => {
    // esbuild has already printed its errors with locations.
    if (!(err && err.errors)) console.error(err);
    process.exit(1);
  });
}
