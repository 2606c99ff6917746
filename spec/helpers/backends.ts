import { setBackend, BackendName } from '../../lib/node/backends/set-backend';
import { nativeKernelsStatus } from '../../lib/node/backends/native';

/** A backend the parity tests run on: a tfjs backend, or wasm with the native oneDNN kernels. */
export type TestBackend = BackendName | 'wasm+native';

/**
 * The backends every parity test runs on (tfjs-core's ALL_ENVS, for what Node can run here): cpu, plain wasm, and
 * wasm with the native kernels when the addon is built (native/, `npm run build:native`).
 */
export const TEST_BACKENDS: TestBackend[] = ['cpu', 'wasm', ...(nativeKernelsStatus().available ? (['wasm+native'] as const) : [])];

/**
 * Makes `backend` the active one, with the native kernels on exactly for 'wasm+native'. Both wasm entries use one
 * wasm thread, so switching between them keeps the backend (and its tensors): the threaded wasm backend gives
 * bit-identical results (spec/backends/wasm-threads.spec.ts) and is slow on a machine whose cores are all busy.
 */
export async function useTestBackend(backend: TestBackend): Promise<void> {
  if (backend === 'wasm+native') await setBackend('wasm', { threads: 1, native: true });
  else if (backend === 'wasm') await setBackend('wasm', { threads: 1, native: false });
  else await setBackend(backend);
}

/** The tfjs backend a test backend runs on (`tf.getBackend()` during its tests). */
export function tfjsBackendOf(backend: TestBackend): BackendName {
  return backend === 'wasm+native' ? 'wasm' : backend;
}

/**
 * Runs the same assertions on every test backend, like tfjs-core's `describeWithFlags(..., ALL_ENVS)`. `body` gets
 * the tfjs backend name (what `tf.getBackend()` returns: 'wasm' for 'wasm+native' too) and the test backend's label.
 */
export function describeEachBackend(title: string, body: (backend: BackendName, label: TestBackend) => void): void {
  for (const label of TEST_BACKENDS) {
    describe(`${title} [${label}]`, () => {
      beforeAll(async () => {
        await useTestBackend(label);
      });
      body(tfjsBackendOf(label), label);
    });
  }
}
