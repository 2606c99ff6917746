import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape } from '@tensorflow/tfjs-layers';
import { singleInput, singleShape } from './layer-utils';

/**
 * The frequencies of diffusers' `get_timestep_embedding`, rounded step by step as PyTorch computes them in float32:
 * `exp(fround(fround(-ln(maxPeriod)) * i) / (half - shift))` for i in [0, half).
 *
 * ```ts
 * timestepFrequencies(128, 1); // Float32Array(64) [1, 0.8641, ...]
 * ```
 */
function timestepFrequencies(embeddingDim: number, downscaleFreqShift: number, maxPeriod = 10000): Float32Array {
  const half = Math.floor(embeddingDim / 2);
  const negLogMaxPeriod = Math.fround(-Math.log(maxPeriod));
  const denominator = Math.fround(half - downscaleFreqShift);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(Math.fround(negLogMaxPeriod * i) / denominator);
    freqs[i] = Math.exp(exponent); // Float32Array storage rounds to float32
  }
  return freqs;
}

export interface TimestepsArgs extends LayerArgs {
  /** Output width (diffusers `num_channels` = `block_out_channels[0]`). */
  numChannels: number;
  /** `true`: `[cos, sin]`; `false`: `[sin, cos]`. */
  flipSinToCos: boolean;
  /** diffusers `downscale_freq_shift` (the config's `freq_shift`). */
  downscaleFreqShift: number;
  /** Multiplies the angles (diffusers `scale`, 1 for UNet2DModel). */
  scale?: number;
  maxPeriod?: number;
}

/**
 * diffusers' sinusoidal `Timesteps` projection as a tfjs layer without weights: `[N]` (or `[N, 1]`) timesteps (fractional
 * allowed) to `[N, numChannels]`, `[sin(t·f), cos(t·f)]` (or `[cos, sin]` with `flipSinToCos`), zero-padded when
 * `numChannels` is odd. The angles are float32 products `t · f` as in PyTorch.
 *
 * ```ts
 * const proj = new TimestepsLayer({ numChannels: 128, flipSinToCos: false, downscaleFreqShift: 1, name: 'time_proj' });
 * proj.apply(tf.tensor1d([500])); // [1, 128]
 * ```
 */
export class TimestepsLayer extends tfl.layers.Layer {
  /** diffusers' module name, kept as the serialized class name (converted model.json files name it). */
  static className = 'Timesteps';
  readonly numChannels: number;
  readonly flipSinToCos: boolean;
  readonly downscaleFreqShift: number;
  readonly scale: number;
  readonly maxPeriod: number;
  private readonly freqs: Float32Array;

  constructor(args: TimestepsArgs) {
    super(args);
    this.numChannels = args.numChannels;
    this.flipSinToCos = args.flipSinToCos;
    this.downscaleFreqShift = args.downscaleFreqShift;
    this.scale = args.scale ?? 1;
    this.maxPeriod = args.maxPeriod ?? 10000;
    this.freqs = timestepFrequencies(this.numChannels, this.downscaleFreqShift, this.maxPeriod);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape, this.name);
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      throw new Error(`${this.name}: expects timesteps of shape [N] or [N, 1], got [${shape.join(', ')}]`);
    }
    return [shape[0], this.numChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const t = singleInput(inputs, this.name);
      if (!(t.rank === 1 || (t.rank === 2 && t.shape[1] === 1))) {
        throw new Error(`${this.name}: expects timesteps of shape [N] or [N, 1], got [${t.shape.join(', ')}]`);
      }
      const half = this.freqs.length;
      let angles = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(this.freqs, [1, half]));
      if (this.scale !== 1) angles = tf.mul(angles, this.scale);
      const sin = tf.sin(angles);
      const cos = tf.cos(angles);
      const emb = tf.concat(this.flipSinToCos ? [cos, sin] : [sin, cos], 1);
      return this.numChannels % 2 === 1 ? tf.pad(emb, [[0, 0], [0, 1]]) : emb;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numChannels: this.numChannels,
      flipSinToCos: this.flipSinToCos,
      downscaleFreqShift: this.downscaleFreqShift,
      scale: this.scale,
      maxPeriod: this.maxPeriod,
    };
  }
}
tf.serialization.registerClass(TimestepsLayer);
