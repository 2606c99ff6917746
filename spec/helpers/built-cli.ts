import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A throw-away package holding lib/ compiled as `npm run build` does, with models/ and node_modules/ linked. */
export interface BuiltCli {
  /** The package folder (remove it with `remove()`). */
  pkg: string;
  /** `<pkg>/dist/node/cli/main.js`, the `tfjs-diffusers` bin. */
  bin: string;
  remove(): void;
}

/**
 * Compiles lib/ with tsconfig.build.json into a temporary package, so that tests run the CLI as users do (the
 * built bin in a child process) from the sources under test, not from a stale dist/. Throws with tsc's output if
 * the build fails. Takes about 30-60 s on 2 cores: call it in a `beforeAll` with a matching timeout.
 */
export function buildCliPackage(prefix = 'cli-built-'): BuiltCli {
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', path.join(pkg, 'dist'), '--sourceMap', 'false', '--declaration', 'false'],
    { encoding: 'utf8' },
  );
  if (tsc.status !== 0 || tsc.stdout + tsc.stderr !== '') {
    fs.rmSync(pkg, { recursive: true, force: true });
    throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status}):\n${tsc.stdout}${tsc.stderr}`);
  }
  fs.symlinkSync(path.join(REPO_ROOT, 'models'), path.join(pkg, 'models'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  return { pkg, bin: path.join(pkg, 'dist', 'node', 'cli', 'main.js'), remove: () => fs.rmSync(pkg, { recursive: true, force: true }) };
}
