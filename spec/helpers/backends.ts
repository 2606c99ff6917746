import { setBackend, BackendName } from '../../lib/node/backends/set-backend';
import { nativeKernelsStatus } from '../../lib/node/backends/native';
import { describeNotRun, testNotRun } from './not-run';

/** A backend the parity tests run on: a tfjs backend, or wasm with the native oneDNN kernels. */
export type TestBackend = BackendName | 'wasm+native';

/** Every backend the parity tests cover: cpu, plain wasm, and wasm with the native kernels (native/). */
export const ALL_TEST_BACKENDS: readonly TestBackend[] = ['cpu', 'wasm', 'wasm+native'];

/**
 * Why a test backend cannot run here, or null. wasm+native needs the addon (`npm run build:native` after
 * on a platform without a prebuild); an addon that is built but fails to load is not a reason to skip: its tests run and fail.
 */
export function testBackendUnavailableReason(backend: TestBackend): string | null {
  if (backend !== 'wasm+native') return null;
  const status = nativeKernelsStatus();
  if (status.available || /^failed to load/.test(status.reason ?? '')) return null;
  return `native kernels ${status.reason ?? 'unavailable'}`;
}

/**
 * The backends every parity test runs on here (tfjs-core's ALL_ENVS, for what Node can run): cpu, plain wasm, and
 * wasm+native when the addon is built. The others are reported by {@link describeEachBackend} / {@link testEachBackend}.
 */
export const TEST_BACKENDS: TestBackend[] = ALL_TEST_BACKENDS.filter((b) => testBackendUnavailableReason(b) === null);

/**
 * Makes `backend` the active one, with the native kernels on exactly for 'wasm+native'. Both wasm entries use one
 * wasm thread, so switching between them keeps the backend (and its tensors): the threaded wasm backend gives
 * bit-identical results (spec/node/backends/wasm-threads.spec.ts) and is slow on a machine whose cores are all busy.
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
 * A backend that cannot run here is skipped and named in the run's "not run" line (spec/helpers/not-run.ts), or
 * fails when TFJS_DIFFUSERS_REQUIRE asks for it.
 */
export function describeEachBackend(
  title: string,
  body: (backend: BackendName, label: TestBackend) => void,
  backends: readonly TestBackend[] = ALL_TEST_BACKENDS,
): void {
  for (const label of backends) {
    const blockTitle = `${title} [${label}]`;
    const unavailable = testBackendUnavailableReason(label);
    if (unavailable !== null) {
      describeNotRun('native', unavailable, blockTitle, () => body(tfjsBackendOf(label), label));
      continue;
    }
    describe(blockTitle, () => {
      beforeAll(async () => {
        await useTestBackend(label);
      });
      body(tfjsBackendOf(label), label);
    });
  }
}

/** One `test` per backend of `backends` (all by default), with the same reporting as {@link describeEachBackend}. */
export function testEachBackend(
  title: (backend: TestBackend) => string,
  fn: (backend: TestBackend) => Promise<void>,
  backends: readonly TestBackend[] = ALL_TEST_BACKENDS,
): void {
  for (const label of backends) {
    const unavailable = testBackendUnavailableReason(label);
    if (unavailable !== null) testNotRun('native', unavailable, title(label), () => fn(label));
    else test(title(label), () => fn(label));
  }
}
