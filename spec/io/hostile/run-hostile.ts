// Hostile inputs run in a child Node process (never in the jest process), through the one isolated-process harness
// of spec/helpers/run-isolated.ts: a reader that hangs or blows up memory fails its test instead of the test run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IsolatedOutcome, runIsolated } from '../../helpers/run-isolated';

export type HostileOutcome = IsolatedOutcome;

const RUNNER = path.join(__dirname, 'runner.ts');

/** Runs `task` of runner.ts on `args` in a fresh limited process; one outcome per input. */
export function runHostile(task: string, args: string[], options: { timeoutMs: number; maxOldSpaceMb?: number }): HostileOutcome[] {
  return runIsolated(RUNNER, task, args, options);
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
