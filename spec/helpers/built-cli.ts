import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Compiles lib/ as `npm run build` does into a throw-away package (models/, node_modules/ and package.json linked)
 * and returns it with the path of its `dist/node/cli/main.js`, so CLI tests spawn the binary users run, fresh.
 * Remove `root` when done.
 */
export function buildCliPackage(): { root: string; bin: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-built-'));
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', path.join(root, 'dist'), '--sourceMap', 'false', '--declaration', 'false'],
    { encoding: 'utf8' },
  );
  if (tsc.status !== 0 || tsc.stdout + tsc.stderr !== '') throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  for (const entry of ['models', 'node_modules', 'package.json']) fs.symlinkSync(path.join(REPO_ROOT, entry), path.join(root, entry));
  return { root, bin: path.join(root, 'dist', 'node', 'cli', 'main.js') };
}
