import type * as tf from '@tensorflow/tfjs-core';

/**
 * What {@link DDIMPipeline} needs from a denoising model: `UNet2DModel` satisfies it, and so can a test double.
 * Samples are NHWC (tfjs' native layout); the pipeline lays torch's NCHW noise out as NHWC before the first call.
 */
export interface DenoisingModel {
  readonly config: {
    /** diffusers' `in_channels`. */
    inChannels: number;
    /** diffusers' `sample_size`: an int (square), [height, width], or null (unknown: the pipeline cannot use it). */
    sampleSize: number | readonly number[] | null;
  };
  /** The predicted noise (or v / sample) for `sampleNHWC` at `timestep`, same shape. */
  predict(sampleNHWC: tf.Tensor4D, timestep: number): tf.Tensor4D;
  dispose(): void;
}
