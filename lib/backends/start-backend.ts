import * as tf from '@tensorflow/tfjs-core';
import { BackendName, BACKENDS } from './backend-table';

/**
 * The one start/fail path of both `setBackend`s: checks that the backend's package registered it, starts it, and
 * turns each way of failing into an error naming the backend. `hints` replace the row's (the browser's are its own).
 *
 * ```ts
 * await startRegisteredBackend('wasm');
 * ```
 */
export async function startRegisteredBackend(
  name: BackendName,
  hints: { notRegistered?: string; initFailed?: string } = {},
): Promise<void> {
  const row = BACKENDS[name];
  if (tf.findBackendFactory(row.registryName) === null) {
    throw new Error(hints.notRegistered ?? `setBackend('${name}'): ${row.packageName} loaded but registered no '${row.registryName}' backend in this environment${row.notRegisteredHint}`);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(row.registryName);
  } catch (err) {
    throw new Error(`setBackend('${name}'): the backend failed to start: ${err instanceof Error ? err.message : err}`, { cause: err });
  }
  if (!ok) throw new Error(`setBackend('${name}'): the backend failed to initialise${hints.initFailed ?? row.initFailedHint}`);
}
