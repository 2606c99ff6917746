#!/usr/bin/env node
/**
 * Builds the browser ESM bundle: lib/browser.ts -> dist/browser/tfjs-diffusers.esm.js, with the wasm backend's
 * .wasm files copied beside it (the browser setBackend points setWasmPaths at the bundle's folder).
 *
 *   node scripts/build-browser.js            # readable bundle + source map
 *   node scripts/build-browser.js --minify   # minified
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
const NODE_ONLY_DIR = path.join(LIB, 'node');
const OUT_DIR = path.join(ROOT, 'dist', 'browser');
const OUT_FILE = path.join(OUT_DIR, 'tfjs-diffusers.esm.js');
const WASM_DIST = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');

/** esbuild plugin: a library file that imports lib/node/ is an error in the browser bundle. */
const noNodeFolderPlugin = {
  name: 'tfjs-diffusers-no-node-folder',
  setup(build) {
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
};

async function main() {
  const minify = process.argv.includes('--minify');
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(LIB, 'browser.ts')],
    outfile: OUT_FILE,
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
    plugins: [noNodeFolderPlugin],
  });

  const wasmFiles = fs.readdirSync(WASM_DIST).filter((f) => f.endsWith('.wasm'));
  for (const file of wasmFiles) fs.copyFileSync(path.join(WASM_DIST, file), path.join(OUT_DIR, file));

  const libInputs = Object.keys(result.metafile.inputs).filter((p) => p.startsWith('lib/'));
  const bytes = fs.statSync(OUT_FILE).size;
  console.log(
    `${path.relative(ROOT, OUT_FILE)}: ${(bytes / 1e6).toFixed(2)} MB, ${libInputs.length} library files, ` +
      `${wasmFiles.length} .wasm files copied (${wasmFiles.join(', ')})`,
  );
}

main().catch((err) => {
  // esbuild has already printed its errors with locations.
  if (!(err && err.errors)) console.error(err);
  process.exit(1);
});
