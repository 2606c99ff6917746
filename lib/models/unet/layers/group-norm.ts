import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { silu } from './activations';
import { channelsOf, singleInput, singleShape } from './layer-utils';

/**
 * Group normalisation of an NHWC tensor, as `torch.nn.GroupNorm(groups, C, eps, affine=True)` on NCHW: each
 * sample's channels are split into `groups` consecutive groups, each normalised over (H, W, its channels) with the
 * biased variance, then scaled by `gamma` and shifted by `beta` per channel. Like PyTorch's CPU kernel, the affine
 * part is folded into one multiply-add per element: `y = x * (gamma * rstd) + (beta - mean * gamma * rstd)`.
 *
 * ```ts
 * const y = groupNormNHWC(x, gamma, beta, 32, 1e-6); // x: [N, H, W, 128]
 * ```
 */
export function groupNormNHWC(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const perGroup = c / groups;
    const grouped = tf.reshape(x, [n, h * w, groups, perGroup]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true); // [N, 1, G, 1]
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const scale = tf.mul(tf.reshape(gamma, [1, 1, groups, perGroup]), rstd); // [N, 1, G, C/G]
    const shift = tf.sub(tf.reshape(beta, [1, 1, groups, perGroup]), tf.mul(mean, scale));
    return tf.reshape(tf.add(tf.mul(grouped, scale), shift), [n, h, w, c]);
  });
}

export interface GroupNormArgs extends LayerArgs {
  /** Number of channel groups; must divide the channel count. */
  groups: number;
  epsilon: number;
  /** Apply SiLU after the normalisation (diffusers' `norm` + `nonlinearity` pairs). */
  silu?: boolean;
}

/**
 * `torch.nn.GroupNorm` on NHWC input as a tfjs layer, optionally followed by SiLU. Weights: `weight` (gamma) and
 * `bias` (beta), both `[C]`.
 *
 * ```ts
 * const y = new GroupNorm({ groups: 32, epsilon: 1e-6, silu: true, name: 'conv_norm_out' }).apply(x);
 * ```
 */
export class GroupNorm extends tfl.layers.Layer {
  static className = 'GroupNorm';
  readonly groups: number;
  readonly epsilon: number;
  readonly silu: boolean;
  private gamma!: LayerVariable;
  private beta!: LayerVariable;

  constructor(args: GroupNormArgs) {
    super(args);
    if (!Number.isSafeInteger(args.groups) || args.groups <= 0) throw new Error(`GroupNorm: groups=${args.groups} must be a positive integer`);
    this.groups = args.groups;
    this.epsilon = args.epsilon;
    this.silu = args.silu ?? false;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = channelsOf(singleShape(inputShape, this.name), this.name);
    if (c % this.groups !== 0) throw new Error(`${this.name}: groups=${this.groups} does not divide the ${c} input channels`);
    this.gamma = this.addWeight('weight', [c], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('bias', [c], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape, this.name);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs, this.name) as tf.Tensor4D;
      const y = groupNormNHWC(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.groups, this.epsilon);
      return this.silu ? silu(y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon, silu: this.silu };
  }
}
tf.serialization.registerClass(GroupNorm);
