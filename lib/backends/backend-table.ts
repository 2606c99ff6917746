/** The tfjs backends this library knows how to load, by the name users pass to `setBackend`. */
export type BackendName = 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tfjs-node' | 'tfjs-node-gpu';

/** Every {@link BackendName}, in no particular order (the default order is `setBackend`'s business). */
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'wasm', 'webgl', 'webgpu', 'tfjs-node', 'tfjs-node-gpu'];
