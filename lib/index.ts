// Public exports only.
export { setBackend, getBackendName, defaultBackendName, isBackendAvailable, BACKEND_NAMES } from './backends/set-backend';
export type { BackendName } from './backends/set-backend';
