import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../../io/checkpoint-error';
import { manifestEntryBytes } from './weight-specs';

/**
 * Weights must be finite: a checkpoint with NaN or ±Inf weights loads and runs, and the pipeline's final clamp turns
 * its NaN images into black ones with `abs-sum 0.0000` and exit 0 (issue 22). Checked once at load (one pass over the
 * float32 values), naming the file and the first tensor that holds one.
 *
 * ```ts
 * checkFiniteTensor(data, 'unet/diffusion_pytorch_model.safetensors', 'conv_in.weight'); // throws CheckpointError when a value is NaN/Inf
 * ```
 */
export function checkFiniteTensor(data: Float32Array, file: string, name: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      let nan = 0;
      let infinite = 0;
      for (let j = i; j < data.length; j++) {
        if (Number.isNaN(data[j])) nan++;
        else if (!Number.isFinite(data[j])) infinite++;
      }
      throw new CheckpointError(
        file,
        `holds ${nan} NaN and ${infinite} infinite value(s) (the first at element ${i}): a corrupted or diverged checkpoint; refused`,
        name,
      );
    }
  }
}

/** {@link checkFiniteTensor} for each float32 entry of a tfjs weights manifest laid out in `weightData`. */
export function checkFiniteManifestWeights(weightData: Uint8Array, entries: tf.io.WeightsManifestEntry[], file: string): void {
  let offset = 0;
  for (const entry of entries) {
    const bytes = manifestEntryBytes(entry, file);
    if (entry.dtype === 'float32' && entry.quantization === undefined && (weightData.byteOffset + offset) % 4 === 0) {
      checkFiniteTensor(new Float32Array(weightData.buffer, weightData.byteOffset + offset, bytes / 4), file, entry.name);
    }
    offset += bytes;
  }
}
