import * as path from 'path';

/**
 * The command that builds the native kernels where this copy of tfjs-diffusers lives: `npm rebuild tfjs-diffusers`
 * in a project that installed the package (it re-runs the package's install script), `npm run build:native` in a
 * clone of this repository.
 */
export function nativeBuildCommand(dir: string = __dirname): string {
  return dir.split(path.sep).includes('node_modules') ? 'npm rebuild tfjs-diffusers' : 'npm run build:native';
}

/**
 * The reasons already printed, kept on the process' stderr stream: jest gives each test file fresh modules (and its
 * own `process` object) but the same stream, so a module variable alone would print the line once per test file.
 */
const PRINTED = Symbol.for('tfjs-diffusers.native-unavailable-notice');

/**
 * Prints, once per process (per reason), one line on stderr saying that the native kernels are off and why (the
 * reason names the command that builds them). No stack trace: it is information, not an error. Returns whether it
 * printed.
 */
export function reportNativeUnavailableOnce(reason: string, stream: NodeJS.WritableStream = process.stderr): boolean {
  const holder = stream as unknown as Record<symbol, Set<string> | undefined>;
  const printed = (holder[PRINTED] ??= new Set<string>());
  if (printed.has(reason)) return false;
  printed.add(reason);
  stream.write(`tfjs-diffusers: native kernels ${reason}; running plain wasm.\n`);
  return true;
}
