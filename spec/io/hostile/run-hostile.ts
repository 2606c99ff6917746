// Runs hostile inputs in a child Node process (never in the jest process): a heap limit, a wall-clock timeout and
// SIGKILL, so a reader that hangs or blows up memory fails the test instead of taking the test run down with it.
import { spawnSync } from 'child_process';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** What the child reported (see runner.ts), or how it ended when it could not report. */
export type HostileOutcome =
  | { result: 'ok'; summary: unknown; ms: number; maxRssMb: number }
  | { result: 'error'; name: string; message: string; ms: number; maxRssMb: number }
  | { result: 'timeout' | 'crashed'; detail: string };

let bundled: string | undefined;

/** runner.ts and what it imports (the readers, fast-check) as one CommonJS file, rebuilt once per test file. */
function runnerBundle(): string {
  if (bundled === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-runner-'));
    bundled = path.join(dir, 'runner.js');
    esbuild.buildSync({
      entryPoints: [path.join(__dirname, 'runner.ts')],
      outfile: bundled,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'error',
    });
  }
  return bundled;
}

/**
 * Runs `task` of runner.ts with `args` in a fresh process limited to `maxOldSpaceMb` of heap and `timeoutMs` of
 * wall time. Returns one outcome per input for tasks that take several (an array), else one.
 */
export function runHostile(task: string, args: string[], options: { timeoutMs: number; maxOldSpaceMb?: number }): HostileOutcome[] {
  const child = spawnSync(process.execPath, [`--max-old-space-size=${options.maxOldSpaceMb ?? 256}`, runnerBundle(), task, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.error !== undefined && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    return [{ result: 'timeout', detail: `no answer within ${options.timeoutMs} ms (killed)` }];
  }
  const line = child.stdout.split('\n').find((l) => l.startsWith('HOSTILE-RESULT '));
  if (child.status !== 0 || line === undefined) {
    return [{ result: 'crashed', detail: `exit ${child.status ?? child.signal}: ${child.stderr.slice(-2000)}` }];
  }
  return JSON.parse(line.slice('HOSTILE-RESULT '.length)) as HostileOutcome[];
}

/** Runs one input and returns its outcome. */
export function runHostileOne(task: string, args: string[], options: { timeoutMs: number; maxOldSpaceMb?: number }): HostileOutcome {
  const outcomes = runHostile(task, args, options);
  if (outcomes.length !== 1) throw new Error(`expected one outcome from ${task}, got ${outcomes.length}`);
  return outcomes[0];
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
