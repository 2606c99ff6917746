import * as fs from 'fs';
import * as path from 'path';
import { builtinModules } from 'module';

/**
 * The architecture's one boundary rule, enforced on the source: lib/node/ is the only folder that may import Node
 * built-ins or Node-only packages, and the browser entry (lib/browser.ts) reaches nothing under lib/node/.
 */
const LIB = path.resolve(__dirname, '..', '..', 'lib');
const NODE_ONLY_FOLDER = 'node/';
/** npm packages that need Node (streams, zlib, native code, a terminal). */
const NODE_ONLY_PACKAGES = ['pngjs', 'commander', 'cli-progress', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'];
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every module specifier a TypeScript source imports at run time (static imports, re-exports, require, import()). */
function importSpecifiers(source: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /^\s*import\s+(?!type\b)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?!type\b)[^'";]*?\s+from\s+['"]([^'"]+)['"]/gm,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) specs.push(m[1]);
  return specs;
}

function isNodeOnlySpecifier(spec: string): boolean {
  const bare = spec.startsWith('node:') ? spec : spec.split('/')[0];
  return NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(bare) || NODE_ONLY_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));
}

/** Files outside lib/node/ that import something Node-only, as "file: specifier". `files` maps lib-relative paths to sources. */
export function nodeImportViolations(files: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    if (file.startsWith(NODE_ONLY_FOLDER)) continue;
    for (const spec of importSpecifiers(source)) if (isNodeOnlySpecifier(spec)) out.push(`${file}: ${spec}`);
  }
  return out;
}

/** The lib-relative files reachable from `entry` through relative imports, and the chains that reach lib/node/. */
export function reachableNodeFiles(files: Map<string, string>, entry: string): string[] {
  const resolve = (from: string, spec: string): string | null => {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (files.has(candidate)) return candidate;
    return null;
  };
  const parent = new Map<string, string>([[entry, '']]);
  const queue = [entry];
  const hits: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (file.startsWith(NODE_ONLY_FOLDER)) {
      const chain = [file];
      for (let p = parent.get(file)!; p !== ''; p = parent.get(p)!) chain.unshift(p);
      hits.push(chain.join(' -> '));
      continue;
    }
    for (const spec of importSpecifiers(files.get(file)!)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(file, spec);
      if (target !== null && !parent.has(target)) {
        parent.set(target, file);
        queue.push(target);
      }
    }
  }
  return hits;
}

function libSources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) files.set(path.relative(LIB, full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'));
    }
  };
  walk(LIB);
  return files;
}

describe('import graph: Node stays in lib/node/', () => {
  const files = libSources();

  test('no file outside lib/node/ imports a Node built-in or a Node-only package', () => {
    expect(files.size).toBeGreaterThan(50);
    expect(nodeImportViolations(files)).toEqual([]);
  });

  test('lib/browser.ts reaches nothing under lib/node/', () => {
    expect(reachableNodeFiles(files, 'browser.ts')).toEqual([]);
  });

  test('the checks catch a violation (a core file importing fs, and the browser entry reaching lib/node/)', () => {
    const bad = new Map(files);
    bad.set('pipelines/ddim-pipeline.ts', `import * as fs from 'fs';\n${files.get('pipelines/ddim-pipeline.ts')}`);
    bad.set('random/generator.ts', `import { encodePng } from '../node/png';\n${files.get('random/generator.ts')}`);
    expect(nodeImportViolations(bad)).toEqual(['pipelines/ddim-pipeline.ts: fs']);
    expect(reachableNodeFiles(bad, 'browser.ts')).toEqual([expect.stringMatching(/^browser\.ts -> .*random\/generator\.ts -> node\/png\.ts$/)]);
  });

  test('type-only imports do not count (they vanish at build time)', () => {
    expect(importSpecifiers("import type { X } from '../node/png';\nexport type { Y } from 'fs';")).toEqual([]);
  });
});
