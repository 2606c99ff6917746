// STUB: the random helper replaces this file.
import * as tf from '@tensorflow/tfjs-core';
import type { Generator } from './generator';

export interface RandnTensorOptions {
  /** One generator, or one per batch element (`shape[0]` of them). */
  generator?: Generator | Generator[];
  dtype?: 'float32' | 'float64';
}

/** diffusers' `randn_tensor`: drawn on the CPU with torch's algorithm, then placed on the active backend. */
export function randnTensor(_shape: number[], _options: RandnTensorOptions = {}): tf.Tensor {
  throw new Error('randnTensor: not implemented yet');
}
