// Command-line arguments of every bench script: node:util's parseArgs (strict: unknown flags and missing values are
// errors) and the value checks the scripts share, so each script declares its flags once and parses nothing by hand.
import { parseArgs, ParseArgsConfig } from 'node:util';

/** A bad bench argument; the message names the script, the flag and the value. */
export class BenchArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchArgumentError';
  }
}

type Flags = NonNullable<ParseArgsConfig['options']>;

/** The values of declared flags (a string, or true for a boolean flag given), and the positional arguments. */
export interface ParsedBenchArgs<T extends Flags> {
  values: { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

/**
 * The flag values of `argv` (default: this process's arguments) for the flags `options` declares, and the
 * positional arguments when `allowPositionals`. Unknown flags and missing values throw {@link BenchArgumentError}.
 *
 * ```ts
 * const { values } = parseBenchArgs('bench/unet', { runs: { type: 'string', default: '5' } });
 * const runs = positiveInt('bench/unet', 'runs', values.runs);
 * ```
 */
export function parseBenchArgs<T extends Flags>(script: string, options: T, argv: string[] = process.argv.slice(2), allowPositionals = false): ParsedBenchArgs<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals }) as ParsedBenchArgs<T>;
  } catch (err) {
    throw new BenchArgumentError(`${script}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `value` as a positive safe integer. */
export function positiveInt(script: string, flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isSafeInteger(n) || n < 1) {
    throw new BenchArgumentError(`${script}: --${flag} ${value}: expected a positive integer`);
  }
  return n;
}

/** `value` as a comma-separated list of positive integers (e.g. `1,8,16`). */
export function positiveIntList(script: string, flag: string, value: string | undefined): number[] {
  if (value === undefined) throw new BenchArgumentError(`${script}: --${flag} needs a value`);
  return value.split(',').map((v) => positiveInt(script, flag, v));
}

/** `value`, which must be one of `allowed`. */
export function oneOf<T extends string>(script: string, flag: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    throw new BenchArgumentError(`${script}: --${flag} ${value}: expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** `value`, a comma-separated list each of whose items must be one of `allowed`. */
export function listOf<T extends string>(script: string, flag: string, value: string | undefined, allowed: readonly T[]): T[] {
  if (value === undefined) throw new BenchArgumentError(`${script}: --${flag} needs a value`);
  return value.split(',').map((v) => oneOf(script, flag, v, allowed));
}
