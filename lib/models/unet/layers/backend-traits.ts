import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether the active backend is tfjs' pure-JS `cpu` backend, whose broadcasting binary ops walk indices element by
 * element (≈10× slower than same-shape ops) and which caches nothing per tensor, so per-call tensors are free to use
 * as conv biases. Other backends get broadcasting ops; on wasm they must, since it caches each XNNPACK operator (with
 * its packed weights) per (filter, bias) tensor pair: a new bias tensor every call would re-pack the filter every call.
 */
export function isCpuBackend(): boolean {
  return tf.getBackend() === 'cpu';
}
