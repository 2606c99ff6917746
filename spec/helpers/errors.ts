/**
 * The error `run` throws, for assertions on its class, fields and message; fails the test when it throws none.
 *
 * ```ts
 * const err = errorOf<ConfigError>(() => DDIMScheduler.fromConfig({ beta_start: -1 }));
 * expect(err.key).toBe('beta_start');
 * ```
 */
export function errorOf<E extends Error = Error>(run: () => unknown): E {
  try {
    run();
  } catch (err) {
    return err as E;
  }
  throw new Error('expected an error, got none');
}
