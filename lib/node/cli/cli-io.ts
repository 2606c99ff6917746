import type { ProgressStream } from './progress';

/**
 * Where the CLI reads its environment and writes its output: the real process, or a stand-in in tests.
 * stdout carries results only (one line per run); messages and progress go to stderr.
 */
export interface CliIO {
  /** Writes to stdout (text includes its newlines). */
  stdout(text: string): void;
  /** stderr; its `isTTY` decides whether a progress bar is shown. */
  stderr: ProgressStream;
  env: Record<string, string | undefined>;
  /** The folder relative paths are taken from. */
  cwd: string;
}

/** The running process's streams, environment and working folder. */
export function processIO(): CliIO {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}
