import { setBackend, BackendName } from '../../lib/backends/set-backend';

/** The backends every parity test runs on (tfjs-core's ALL_ENVS, for what Node can run here). */
export const TEST_BACKENDS: BackendName[] = ['cpu', 'wasm'];

/**
 * Runs the same assertions on every test backend, like tfjs-core's `describeWithFlags(..., ALL_ENVS)`.
 */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const backend of TEST_BACKENDS) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await setBackend(backend);
      });
      body(backend);
    });
  }
}
