// The error of a bad command-line argument or scale-out variable, shared by lib/node/cli/ and lib/node/scale-out/
// (which sits below the CLI and reads flags and environment variables too).

/** A bad command-line argument: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A raw argument as the error messages quote it. */
export function quoted(raw: string): string {
  return JSON.stringify(raw);
}

/**
 * `--steps 50` → 50; anything but a whole number ≥ 1 is a {@link UsageError} naming the flag and the value.
 *
 * ```ts
 * parsePositiveInteger('--steps', 'abc'); // throws: --steps: expected a positive integer, got "abc"
 * ```
 */
export function parsePositiveInteger(flag: string, raw: string): number {
  const text = raw.trim();
  if (!/^\+?\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag}: expected a positive integer, got ${quoted(raw)}`);
  }
  return Number(text);
}
