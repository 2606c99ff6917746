import * as fs from 'fs';
import * as path from 'path';

/**
 * docs/architecture.md stays true to the code: every folder under lib/ and native/ is in its tree, every file or
 * folder it names exists, spec/ follows the mirror rule it states, and no document points outside the repository.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const DOC = 'docs/architecture.md';
/** Top-level folders whose paths the doc names from the repository root. */
const ROOT_FOLDERS = ['lib', 'native', 'spec', 'docs', 'bench', 'scripts', 'test-support', 'models', 'examples'];
/** spec/ folders without a lib/ counterpart (docs/architecture.md, "spec/ mirrors lib/"). */
const CROSS_CUTTING_SPEC_FOLDERS = ['architecture', 'docs', 'e2e', 'parity', 'reproducibility', 'package', 'reporters', 'fixtures', 'helpers'];

/** What the checks need to know of the repository. */
interface Tree {
  exists(relPath: string): boolean;
  /** Every folder under `top` (repository-relative, no trailing slash), `top` included. */
  folders(top: string): string[];
}

const repoTree: Tree = {
  exists: (p) => fs.existsSync(path.join(ROOT, p)),
  folders(top) {
    const out: string[] = [];
    const walk = (rel: string) => {
      out.push(rel);
      for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
        if (e.isDirectory() && e.name !== 'build' && e.name !== 'node_modules') walk(`${rel}/${e.name}`);
      }
    };
    walk(top);
    return out;
  },
};

/** The paths the doc's ```tree block lists (folders with a trailing '/'), and those its descriptions name, resolved. */
export function treePaths(doc: string): { listed: string[]; named: string[] } {
  const block = /```tree\n([\s\S]*?)```/.exec(doc);
  if (block === null) throw new Error(`${DOC} has no \`\`\`tree block`);
  const listed: string[] = [];
  const named: string[] = [];
  const stack: string[] = [];
  for (const line of block[1].split('\n')) {
    if (line.trim() === '') continue;
    const depth = (line.length - line.trimStart().length) / 2;
    const [name] = line.trim().split(/\s+/);
    stack.length = depth;
    const full = `${stack.join('')}${name}`;
    listed.push(full);
    if (name.endsWith('/')) stack.push(name);
    const folder = name.endsWith('/') ? full : full.slice(0, full.lastIndexOf('/') + 1);
    for (const m of line.slice(line.indexOf(name) + name.length).matchAll(/`([^`\s]+)`/g)) named.push(`${folder}${m[1]}`);
  }
  return { listed, named };
}

/** Repository paths the doc names outside its tree: backticked paths from a top folder, and relative links. */
export function prosePaths(doc: string, docPath = DOC): string[] {
  const prose = doc.replace(/```tree\n[\s\S]*?```/, '');
  const out: string[] = [];
  for (const m of prose.matchAll(/`([^`\s]+)`/g)) {
    let p = m[1].replace(/[.,;:]$/, '');
    if (!ROOT_FOLDERS.some((top) => p.startsWith(`${top}/`))) continue;
    if (p.includes('<')) p = p.slice(0, p.lastIndexOf('/', p.indexOf('<')) + 1); // lib/schedulers/<name>.ts: its folder
    out.push(p);
  }
  for (const m of prose.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
    if (/^[a-z]+:/.test(m[1])) continue;
    out.push(path.posix.normalize(path.posix.join(path.posix.dirname(docPath), m[1])));
  }
  return out;
}

/** What is wrong with the doc against the tree: folders missing from it, and named paths that do not exist. */
export function docProblems(doc: string, tree: Tree): string[] {
  const { listed, named } = treePaths(doc);
  const problems: string[] = [];
  const listedSet = new Set(listed.map((p) => p.replace(/\/$/, '')));
  for (const top of ['lib', 'native']) {
    for (const folder of tree.folders(top)) if (!listedSet.has(folder)) problems.push(`folder ${folder}/ is not in the tree`);
  }
  for (const p of [...listed, ...named, ...prosePaths(doc)]) {
    if (!tree.exists(p.replace(/\/$/, ''))) problems.push(`${p} does not exist`);
  }
  return [...new Set(problems)];
}

/** Every file under `dir` (repository-relative), recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'build') walk(child);
      } else out.push(child);
    }
  };
  walk(dir);
  return out;
}

describe(`${DOC} is true to the code`, () => {
  const doc = fs.readFileSync(path.join(ROOT, DOC), 'utf8');

  test('its tree lists every folder under lib/ and native/, and every file or folder it names exists', () => {
    expect(treePaths(doc).listed.length).toBeGreaterThan(30);
    expect(docProblems(doc, repoTree)).toEqual([]);
  });

  test('the check fails when a folder is added without a line, or a named file is moved', () => {
    const withExtraFolder: Tree = { ...repoTree, folders: (top) => [...repoTree.folders(top), ...(top === 'lib' ? ['lib/video'] : [])] };
    expect(docProblems(doc, withExtraFolder)).toEqual(['folder lib/video/ is not in the tree']);
    const moved = (gone: string): Tree => ({ ...repoTree, exists: (p) => p !== gone && repoTree.exists(p) });
    expect(docProblems(doc, moved('lib/loading/pipeline-layout.ts'))).toContain('lib/loading/pipeline-layout.ts does not exist');
    expect(docProblems(doc, moved('lib/backends/backend-table.ts'))).toContain('lib/backends/backend-table.ts does not exist');
    expect(docProblems(doc, moved('native/src/ops.cc'))).toEqual(['native/src/ops.cc does not exist']);
  });

  test('spec/ mirrors lib/: each spec folder mirrors a lib folder, is cross-cutting, or holds no spec', () => {
    const libFolders = new Set(repoTree.folders('lib').map((f) => f.slice('lib'.length)));
    const specs = filesUnder('spec').filter((f) => f.endsWith('.spec.ts'));
    const crossCutting = (f: string) => CROSS_CUTTING_SPEC_FOLDERS.includes(f.split('/')[1]);
    const misplaced = specs
      .filter((f) => !crossCutting(f) && !libFolders.has(path.posix.dirname(f).slice('spec'.length)))
      .map((f) => `${f}: no lib${path.posix.dirname(f).slice('spec'.length)}/`);
    expect(misplaced).toEqual([]);
  });

  test('spec/ mirrors lib/: a spec named after a lib file sits at that file\'s mirrored place', () => {
    const libByName = new Map<string, string[]>();
    for (const f of filesUnder('lib').filter((x) => x.endsWith('.ts'))) {
      const name = path.posix.basename(f, '.ts');
      libByName.set(name, [...(libByName.get(name) ?? []), f]);
    }
    const misplaced: string[] = [];
    for (const spec of filesUnder('spec').filter((f) => f.endsWith('.spec.ts'))) {
      if (CROSS_CUTTING_SPEC_FOLDERS.includes(spec.split('/')[1])) continue;
      const libFiles = libByName.get(path.posix.basename(spec, '.spec.ts'));
      if (libFiles === undefined) continue;
      const mirrors = libFiles.map((f) => `spec${f.slice('lib'.length, -'.ts'.length)}.spec.ts`);
      if (!mirrors.includes(spec)) misplaced.push(`${spec} (expected ${mirrors.join(' or ')})`);
    }
    expect(misplaced).toEqual([]);
  });

  test('no document or source points to a file outside the repository', () => {
    const texts = [
      'README.md',
      ...filesUnder('docs'),
      ...filesUnder('lib'),
      ...filesUnder('bench'),
      ...filesUnder('scripts'),
      ...filesUnder('test-support'),
      'spec/fixtures/README.md',
    ].filter((f) => /\.(md|ts|js|py)$/.test(f));
    const outside = texts.filter((f) => /\.\.\/shared\b|\/work\//.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    expect(outside).toEqual([]);
  });

  test('every eslint-disable comment names its reason after " -- "', () => {
    const sources = ['lib', 'spec', 'bench', 'scripts', 'test-support'].flatMap(filesUnder).filter((f) => /\.(ts|js|mjs)$/.test(f));
    const bare = sources.flatMap((f) =>
      fs
        .readFileSync(path.join(ROOT, f), 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
        .filter(({ line }) => /eslint-disable/.test(line) && !/eslint-disable\S*\s+\S+.* -- \S/.test(line) && !line.includes('/eslint-disable/'))
        .map(({ at }) => at),
    );
    expect(bare).toEqual([]);
  });
});
