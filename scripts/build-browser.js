#!/usr/bin/env node
/**
 * Builds the browser ESM bundle: lib/browser.ts -> dist/browser/tfjs-diffusers.esm.js, with the wasm backend's
 * .wasm files copied beside it (the browser setBackend points setWasmPaths at the bundle's folder).
 *
 *   node scripts/build-browser.js            # readable bundle + source map
 *   node scripts/build-browser.js --minify   # minified
 *
 * The build fails when a library file reachable from lib/browser.ts imports a Node built-in (fs, http,
 * child_process, ...): such a module must stay out of the browser entry. Imports of lib/backends/set-backend
 * (Node: `require(packageName)`) are redirected to lib/backends/set-backend-browser.ts, which bundles every
 * browser backend and has the same exports.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { builtinModules } = require('module');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '..');
const LIB = path.join(ROOT, 'lib');
const OUT_DIR = path.join(ROOT, 'dist', 'browser');
const OUT_FILE = path.join(OUT_DIR, 'tfjs-diffusers.esm.js');
const NODE_SET_BACKEND = path.join(LIB, 'backends', 'set-backend.ts');
const BROWSER_SET_BACKEND = path.join(LIB, 'backends', 'set-backend-browser.ts');
const WASM_DIST = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** esbuild plugin: keeps Node-only code out of the bundle, loudly. */
const browserSafePlugin = {
  name: 'tfjs-diffusers-browser-safe',
  setup(build) {
    // Node built-ins imported by the library's own files are an error (node_modules map theirs away through
    // their package.json "browser" fields, which esbuild honours with platform: 'browser').
    build.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path)) return undefined;
      if (!args.importer.startsWith(LIB + path.sep)) return undefined;
      return {
        errors: [
          {
            text:
              `${path.relative(ROOT, args.importer)} imports the Node built-in '${args.path}', so it cannot be in the ` +
              `browser bundle: keep it out of lib/browser.ts's imports, or move the Node-only part to its own file.`,
          },
        ],
      };
    });
    // The Node setBackend loads backends with require(name); the browser one imports them all statically.
    build.onResolve({ filter: /(^|\/)set-backend$/ }, (args) => {
      const resolved = path.resolve(args.resolveDir, args.path) + '.ts';
      return resolved === NODE_SET_BACKEND ? { path: BROWSER_SET_BACKEND } : undefined;
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
    plugins: [browserSafePlugin],
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
