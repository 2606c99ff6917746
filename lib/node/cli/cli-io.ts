import * as fs from 'fs';
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
  endQuietlyOnClosedPipe();
  return {
    stdout: writeStdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * One result line to stdout, written synchronously: a closed pipe (`| head -1`) then fails this very write with
 * EPIPE and the run ends at once, instead of the error surfacing (as a stream 'error' event) only after the whole
 * CPU-bound generation. A non-blocking stdout that is full (EAGAIN) falls back to the stream, which queues.
 */
function writeStdout(text: string): void {
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(1, bytes, at);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
    if (code === 'EAGAIN') process.stdout.write(text);
    else throw err;
  }
}

let pipeGuarded = false;

/**
 * `tfjs-diffusers generate --help | head`, `generate --seeds 0-99 | head -1`: when the reader of stdout (or stderr)
 * goes away, the next write fails with EPIPE, emitted as an 'error' event that would end the process with an
 * unhandled-error stack trace. The output is no longer wanted: end quietly, as Unix tools do.
 */
function endQuietlyOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
