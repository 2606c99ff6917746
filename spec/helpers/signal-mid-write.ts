// Stops a CLI run the way `timeout`, Kubernetes or the OOM killer do, at the moment it is writing: once a temporary
// file or folder of its output exists. Shared by the leftover tests (SIGTERM and SIGKILL mid-convert, mid-merge).
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';

export interface SignalledRun {
  /** How many temporaries matched when the signal was sent (0: the run ended, or the wait timed out, before one appeared). */
  temporariesAtSignal: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the signal to the exit. */
  msToExit: number;
}

/**
 * Waits (up to `timeoutMs`) until an entry of `dir` starts with `prefix` or `child` has ended, sends `signal`, and
 * resolves when `child` has exited. Call it right after spawning `child`.
 *
 * ```ts
 * const run = await signalWhenTemporaryAppears(spawn(node, [cli, 'convert', 'm', 'out'], { cwd }), cwd, '.out.tmp-', 'SIGTERM');
 * ```
 */
export async function signalWhenTemporaryAppears(
  child: ChildProcess,
  dir: string,
  prefix: string,
  signal: NodeJS.Signals,
  timeoutMs = 60_000,
): Promise<SignalledRun> {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode, at: Date.now() });
    else child.once('exit', (code, sig) => resolve({ code, signal: sig, at: Date.now() }));
  });
  const temporaries = () => fs.readdirSync(dir).filter((f) => f.startsWith(prefix)).length;
  const deadline = Date.now() + timeoutMs;
  while (temporaries() === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const temporariesAtSignal = temporaries();
  const sent = Date.now();
  child.kill(signal);
  const end = await exited;
  return { temporariesAtSignal, code: end.code, signal: end.signal, msToExit: end.at - sent };
}
