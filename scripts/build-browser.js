#!/usr/bin/env node
/**
 * Builds the browser ESM bundle: lib/browser.ts -> dist/browser/tfjs-diffusers.esm.js, with the wasm backend's
 * .wasm files copied beside it (the browser setBackend points setWasmPaths at the bundle's folder).
 *
 *   node scripts/build-browser.js            # readable bundle + source map
 *   node scripts/build-browser.js --minify   # minified
 *
 * Node built-ins: the build fails when a library file reachable from lib/browser.ts imports one (fs, http,
 * child_process, ...), unless that file is listed in NODE_ONLY_METHODS_ALLOWED below: files whose Node imports
 * serve only methods that a page never calls (reading a checkpoint folder, saving a model). For those, the
 * built-in is replaced by a stub whose every function throws a clear error (`fs.readFileSync is not available
 * in the browser build ...`). Imports of lib/backends/set-backend (Node: `require(packageName)`) are redirected
 * to lib/backends/set-backend-browser.ts, which bundles every browser backend and has the same exports.
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

/**
 * Library files allowed to import Node built-ins in the browser bundle, with the built-ins they may import.
 * Each imports fs/path for folder IO only (fromPretrained, save, reading config.json or a checkpoint); the browser
 * loads models with loadUNetFromUrl instead. Shrink this list as those files move their folder IO apart.
 */
const NODE_ONLY_METHODS_ALLOWED = {
  'lib/models/unet/unet-2d-model.ts': ['fs', 'path'], // fromPretrained, save
  'lib/node/fs/read-unet-2d-config.ts': ['fs'], // readUNet2DConfig
  'lib/models/unet/convert.ts': ['fs', 'path'],
  'lib/io/read-state-dict.ts': ['fs', 'path'],
  'lib/io/tfjs-format.ts': ['fs', 'path'], // fileSystemHandler
  'lib/io/atomic-write.ts': ['fs', 'path'],
  'lib/io/hub.ts': ['crypto', 'fs', 'path'], // Hub download into the disk cache
  'lib/io/hub-cache.ts': ['fs', 'os', 'path'],
  'lib/pipelines/load-pipeline.ts': ['fs', 'path'], // DDIMPipeline.fromPretrained
  'lib/pipelines/pipeline-folder.ts': ['fs', 'path'],
  'lib/pipelines/convert-pipeline.ts': ['fs', 'path'],
};

/**
 * npm packages that only Node code paths use, with the library files allowed to import them; the bundle gets a
 * throwing stub instead. pngjs needs Node streams and zlib: in a page, outputType 'png' is unavailable and the
 * 'array' / 'tensor' outputs are drawn on a canvas.
 */
const NODE_ONLY_PACKAGES = {
  pngjs: ['lib/io/png.ts'], // encodePng / decodePng (outputType 'png', the CLI)
};

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** ESM source of a stand-in for a Node built-in: the same export names, every function throwing. */
function nodeStubSource(moduleName) {
  const real = require(moduleName);
  const lines = [
    `function unavailable(name) {`,
    `  return function () {`,
    `    throw new Error(name + ' is not available in the browser build of tfjs-diffusers (Node only: files, the Hub ' +`,
    `      'cache, PNG encoding). In a page, load models with loadPipelineFromUrl / loadUNetFromUrl and take ' +`,
    `      "outputType 'array' or 'tensor'.");`,
    `  };`,
    `}`,
  ];
  const names = Object.keys(real).filter((key) => IDENTIFIER.test(key) && key !== 'default');
  for (const key of names) {
    const value = real[key];
    if (typeof value === 'function') lines.push(`export const ${key} = unavailable(${JSON.stringify(`${moduleName}.${key}`)});`);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      lines.push(`export const ${key} = ${JSON.stringify(value)};`);
    } else lines.push(`export const ${key} = {};`);
  }
  lines.push(`export default { ${names.join(', ')} };`);
  return lines.join('\n');
}

/** Which allowed Node imports the last build replaced by stubs ("file: module"). */
const stubbedImports = new Set();

/** esbuild plugin: keeps Node-only code out of the bundle, loudly. */
const browserSafePlugin = {
  name: 'tfjs-diffusers-browser-safe',
  setup(build) {
    // Node built-ins imported by the library's own files are an error (node_modules map theirs away through
    // their package.json "browser" fields, which esbuild honours with platform: 'browser').
    build.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path)) return undefined;
      if (!args.importer.startsWith(LIB + path.sep)) return undefined;
      const importer = path.relative(ROOT, args.importer).split(path.sep).join('/');
      const moduleName = args.path.replace(/^node:/, '');
      if ((NODE_ONLY_METHODS_ALLOWED[importer] ?? []).includes(moduleName)) {
        stubbedImports.add(`${importer}: ${moduleName}`);
        return { path: moduleName, namespace: 'node-stub' };
      }
      return {
        errors: [
          {
            text:
              `${importer} imports the Node built-in '${args.path}', so it cannot be in the browser bundle: keep it ` +
              `out of lib/browser.ts's imports, or move the Node-only part to its own file (or, when only methods ` +
              `a page never calls use it, list it in NODE_ONLY_METHODS_ALLOWED of scripts/build-browser.js).`,
          },
        ],
      };
    });
    build.onResolve({ filter: new RegExp(`^(${Object.keys(NODE_ONLY_PACKAGES).join('|')})$`) }, (args) => {
      const importer = path.relative(ROOT, args.importer).split(path.sep).join('/');
      if (!NODE_ONLY_PACKAGES[args.path].includes(importer)) {
        return {
          errors: [{ text: `${importer} imports '${args.path}', a Node-only package (see NODE_ONLY_PACKAGES in scripts/build-browser.js)` }],
        };
      }
      stubbedImports.add(`${importer}: ${args.path}`);
      return { path: args.path, namespace: 'node-stub' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({ contents: nodeStubSource(args.path), loader: 'js' }));
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
  if (stubbedImports.size > 0) {
    console.log(`Node-only imports replaced by throwing stubs: ${[...stubbedImports].sort().join('; ')}`);
  }
}

main().catch((err) => {
  // esbuild has already printed its errors with locations.
  if (!(err && err.errors)) console.error(err);
  process.exit(1);
});
