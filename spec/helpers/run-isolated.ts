// Runs hostile inputs in a child Node process, never in the jest process: a V8 heap limit, an address-space limit
// (`ulimit -v`, which also bounds ArrayBuffers and tensors, off the V8 heap), a wall-clock timeout and SIGKILL. A
// loader that hangs or allocates gigabytes then fails its test instead of taking the machine down.
import { spawnSync } from 'child_process';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { peakRssBytes } from '../../test-support/peak-rss';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** What the child reported for one input (see {@link isolatedMain}), or how it ended when it could not report. */
export type IsolatedOutcome =
  | { result: 'ok'; value: unknown; ms: number; maxRssMb: number }
  | { result: 'error'; name: string; message: string; ms: number; maxRssMb: number }
  | { result: 'timeout' | 'crashed'; detail: string };

export interface IsolatedLimits {
  /** Wall-clock limit of the whole child, then SIGKILL. */
  timeoutMs: number;
  /** V8 old-generation heap, MB (default 256). */
  maxOldSpaceMb?: number;
  /** Address space, MB (default 4096; POSIX only): caps ArrayBuffers too. */
  maxAddressSpaceMb?: number;
}

const bundles = new Map<string, string>();

/** `entry` (a .ts file that calls {@link isolatedMain}) bundled once per test file; npm packages stay external. */
function bundle(entry: string): string {
  let out = bundles.get(entry);
  if (out === undefined) {
    out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'isolated-')), `${path.basename(entry, '.ts')}.js`);
    // ignoreAnnotations: package.json's "sideEffects" names dist/ files; from lib/ sources, imports for their effect (register-node-loaders) must stay.
    esbuild.buildSync({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', packages: 'external', logLevel: 'error', ignoreAnnotations: true });
    bundles.set(entry, out);
  }
  return out;
}

/** Runs `task` of `entry` in a fresh, limited process with `args`; returns one outcome per input. */
export function runIsolated(entry: string, task: string, args: string[], limits: IsolatedLimits): IsolatedOutcome[] {
  const nodeArgs = [`--max-old-space-size=${limits.maxOldSpaceMb ?? 256}`, bundle(entry), task, ...args];
  const addressSpaceKb = (limits.maxAddressSpaceMb ?? 4096) * 1024;
  const [command, commandArgs] =
    process.platform === 'win32'
      ? [process.execPath, nodeArgs]
      : ['/bin/sh', ['-c', `ulimit -v ${addressSpaceKb} && exec "$0" "$@"`, process.execPath, ...nodeArgs]];
  const child = spawnSync(command, commandArgs, {
    encoding: 'utf8',
    timeout: limits.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
    // packages: 'external' leaves require('@tensorflow/...') to be resolved from this repository's node_modules.
    env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
  });
  if (child.error !== undefined && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    return [{ result: 'timeout', detail: `no answer within ${limits.timeoutMs} ms (killed)` }];
  }
  const line = child.stdout.split('\n').find((l) => l.startsWith('ISOLATED-RESULT '));
  if (child.status !== 0 || line === undefined) {
    return [{ result: 'crashed', detail: `exit ${child.status ?? child.signal}: ${child.stderr.slice(-2000)}` }];
  }
  return JSON.parse(line.slice('ISOLATED-RESULT '.length)) as IsolatedOutcome[];
}

/**
 * The child side: runs `tasks[argv task]` (each returns one async result per input) and prints one line
 * `ISOLATED-RESULT [outcome, …]` with each input's value or error class and message, time and peak RSS.
 */
export function isolatedMain(tasks: Record<string, (args: string[]) => (() => unknown)[]>): void {
  const [task, ...args] = process.argv.slice(2);
  if (!Object.prototype.hasOwnProperty.call(tasks, task)) {
    console.error(`unknown task ${task}`);
    process.exit(2);
  }
  const run = async () => {
    const outcomes: unknown[] = [];
    for (const input of tasks[task](args)) {
      const start = performance.now();
      const done = (o: Record<string, unknown>) => ({ ...o, ms: Math.round(performance.now() - start), maxRssMb: Math.round(peakRssBytes() / 2 ** 20) });
      try {
        outcomes.push(done({ result: 'ok', value: await input() }));
      } catch (err) {
        const e = err as Error;
        outcomes.push(done({ result: 'error', name: e?.constructor?.name ?? typeof err, message: String(e?.message).slice(0, 4000) }));
      }
    }
    process.stdout.write(`ISOLATED-RESULT ${JSON.stringify(outcomes)}\n`);
  };
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
