import * as fs from 'fs';
import * as path from 'path';
import { builtinModules } from 'module';

/**
 * The architecture's rules (docs/architecture.md), enforced on the source:
 * - lib/node/ is the only folder that may import Node built-ins or Node-only packages, and the browser entry
 *   (lib/browser.ts) reaches nothing under lib/node/;
 * - every room (folder) of lib/ stands on a floor, and a file imports only from rooms on lower floors or its own;
 * - no run-time import circle spans files of different folders.
 */
const LIB = path.resolve(__dirname, '..', '..', 'lib');
const NODE_ONLY_FOLDER = 'node/';
/** npm packages that need Node (streams, zlib, native code, a terminal). */
const NODE_ONLY_PACKAGES = ['pngjs', 'commander', 'cli-progress', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'];
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Every module specifier a TypeScript source imports at run time (static imports, re-exports, require, import()),
 * and with `withTypes` also its type-only imports.
 */
function importSpecifiers(source: string, withTypes = false): string[] {
  const specs: string[] = [];
  const notType = withTypes ? '' : '(?!type\\b)';
  const patterns = [
    new RegExp(`^\\s*import\\s+${notType}(?:[^'";]*?\\s+from\\s+)?['"]([^'"]+)['"]`, 'gm'),
    new RegExp(`^\\s*export\\s+${notType}[^'";]*?\\s+from\\s+['"]([^'"]+)['"]`, 'gm'),
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) specs.push(m[1]);
  return specs;
}

/** The lib-relative file a relative specifier of `from` names, or null (a package, or no such file). */
function resolveImport(files: Map<string, string>, from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (files.has(candidate)) return candidate;
  return null;
}

/**
 * The floors of lib/'s rooms, lowest first: a file may import from its own room and from rooms on lower floors only
 * (type-only imports included). A room is a top-level folder of lib/ (its subfolders belong to it), except under
 * lib/node/, where each subfolder is a room and the files directly in lib/node/ are the room `node`; `.` is the entry
 * files (index.ts, browser.ts, public-api.ts). docs/architecture.md draws the same table.
 */
export const FLOORS: Readonly<Record<string, number>> = {
  config: 0,
  math: 0,
  io: 0,
  random: 1,
  loading: 1,
  backends: 2,
  schedulers: 2,
  models: 3,
  pipelines: 4,
  'node/fs': 5,
  'node/hub': 6,
  'node/backends': 6,
  'node/convert': 7,
  node: 8,
  'node/scale-out': 9,
  'node/cli': 10,
  '.': 11,
};

/** The room of a lib-relative file (see {@link FLOORS}). */
export function roomOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return '.';
  if (parts[0] === 'node') return parts.length === 2 ? 'node' : `node/${parts[1]}`;
  return parts[0];
}

/** Imports that go up or sideways between rooms (and files in rooms without a floor), as "file -> file". */
export function floorViolations(files: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    const from = roomOf(file);
    if (FLOORS[from] === undefined) {
      out.push(`${file}: its room '${from}' has no floor (add it to FLOORS and to docs/architecture.md)`);
      continue;
    }
    for (const spec of importSpecifiers(source, true)) {
      const target = resolveImport(files, file, spec);
      if (target === null) continue;
      const to = roomOf(target);
      if (to !== from && FLOORS[to] !== undefined && FLOORS[to] >= FLOORS[from]) out.push(`${file} -> ${target}`);
    }
  }
  return out.sort();
}

/** Run-time import circles (strongly connected files) whose files are not all in one folder, each sorted. */
export function crossFolderCircles(files: Map<string, string>): string[][] {
  const edges = new Map<string, string[]>();
  for (const [file, source] of files) {
    edges.set(file, importSpecifiers(source).map((spec) => resolveImport(files, file, spec)).filter((t): t is string => t !== null));
  }
  // Tarjan's algorithm, iterative.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  let next = 0;
  for (const root of files.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ file: string; i: number }> = [{ file: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const targets = edges.get(top.file)!;
      if (top.i < targets.length) {
        const t = targets[top.i++];
        if (!index.has(t)) {
          index.set(t, next);
          low.set(t, next++);
          stack.push(t);
          onStack.add(t);
          work.push({ file: t, i: 0 });
        } else if (onStack.has(t)) {
          low.set(top.file, Math.min(low.get(top.file)!, index.get(t)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].file;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.file)!));
      }
      if (low.get(top.file) === index.get(top.file)) {
        const component: string[] = [];
        let f: string;
        do {
          f = stack.pop()!;
          onStack.delete(f);
          component.push(f);
        } while (f !== top.file);
        if (new Set(component.map((c) => path.posix.dirname(c))).size > 1) circles.push(component.sort());
      }
    }
  }
  return circles;
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
      const target = resolveImport(files, file, spec);
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

describe('import graph: floors and circles', () => {
  const files = libSources();

  test('every import goes to the same room or a lower floor (docs/architecture.md, "Floors")', () => {
    expect(floorViolations(files)).toEqual([]);
  });

  test('no run-time import circle spans two folders', () => {
    expect(crossFolderCircles(files)).toEqual([]);
  });

  test('the checks catch an upward import, a room without a floor, and a circle across folders', () => {
    const bad = new Map(files);
    bad.set('loading/model-source.ts', `import { DDIMPipeline } from '../pipelines/ddim-pipeline';\n${files.get('loading/model-source.ts')}`);
    bad.set('extra/thing.ts', "export const x = 1;\n");
    expect(floorViolations(bad)).toEqual([
      "extra/thing.ts: its room 'extra' has no floor (add it to FLOORS and to docs/architecture.md)",
      'loading/model-source.ts -> pipelines/ddim-pipeline.ts',
    ]);
    const circle = new Map([
      ['a/one.ts', "import { two } from '../b/two';\nexport const one = 1;\n"],
      ['b/two.ts', "import { one } from '../a/one';\nexport const two = 2;\n"],
      ['b/three.ts', "import type { one } from '../a/one';\nimport { two } from './two';\n"],
    ]);
    expect(crossFolderCircles(circle)).toEqual([['a/one.ts', 'b/two.ts']]);
  });
});
