import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { groupNormNative } from '../../../backends/native/group-norm';
import { silu as siluOp } from './activations';
import { isCpuBackend } from './backend-traits';
import { channelsOf, singleInput, singleShape } from './layer-utils';

/**
 * Group normalisation of an NHWC tensor, as `torch.nn.GroupNorm(groups, C, eps, affine=True)` on NCHW: each
 * sample's channels are split into `groups` consecutive groups, each normalised over (H, W, its channels) with the
 * biased variance (two passes: the mean, then the mean square of the centred values), then scaled by `gamma` and
 * shifted by `beta` per channel. Statistics are sums over the last axis of `[.., C/groups]` views, then over the
 * pixels (a small transpose): no reduction over a large inner axis.
 *
 * Two formulations with the same math, chosen by backend speed (measured: bench/group-norm.ts):
 * - `cpu`: its broadcasting binary ops walk indices element by element (≈10× slower than same-shape ops), so each
 *   sample is normalised by one `batchNorm` (per-channel parameters tiled along the last axis) with the group
 *   statistics repeated per channel: {@link groupNormPerChannel}.
 * - other backends (wasm's XNNPACK broadcasting add/mul are SIMD; its batchNorm divides per element in double):
 *   `(x - mean) * (gamma * rstd) + beta` with broadcasting, the whole batch at once: {@link groupNormBroadcast}.
 *
 * ```ts
 * const y = groupNormNHWC(x, gamma, beta, 32, 1e-6); // x: [N, H, W, 128]
 * ```
 */
export function groupNormNHWC(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number): tf.Tensor4D {
  return isCpuBackend()
    ? groupNormPerChannel(x, gamma, beta, groups, epsilon)
    : groupNormBroadcast(x, gamma, beta, groups, epsilon);
}

/** Mean over pixels and the channels of each group of an `[N, pixels, groups, C/groups]` view: `[N, 1, groups, 1]`. */
function groupMeans(grouped: tf.Tensor4D): tf.Tensor4D {
  const [n, pixels, groups, perGroup] = grouped.shape;
  const rowSums = tf.sum(grouped, 3); // [N, pixels, groups]: the last axis, no transpose
  const sums = tf.sum(tf.transpose(rowSums, [0, 2, 1]), 2); // [N, groups]: a transpose 1/perGroup the size
  return tf.reshape(tf.div(sums, pixels * perGroup), [n, 1, groups, 1]);
}

/**
 * {@link groupNormNHWC}, then SiLU when `silu`: one fused native kernel when the wasm backend runs the native
 * kernels (`groupNormNative`, statistics in double), else the tfjs ops.
 *
 * ```ts
 * const h = groupNormSiluNHWC(x, gamma, beta, 32, 1e-6, true);
 * ```
 */
export function groupNormSiluNHWC(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  epsilon: number,
  silu: boolean,
): tf.Tensor4D {
  const fused = groupNormNative(x, gamma, beta, groups, epsilon, silu);
  if (fused !== null) return fused as tf.Tensor4D;
  return tf.tidy(() => {
    const y = groupNormNHWC(x, gamma, beta, groups, epsilon);
    return silu ? siluOp(y) : y;
  });
}

/** {@link groupNormNHWC} with broadcasting element-wise ops, the whole batch at once. */
export function groupNormBroadcast(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const perGroup = c / groups;
    const grouped = tf.reshape(x, [n, h * w, groups, perGroup]) as tf.Tensor4D;
    const centered = tf.sub(grouped, groupMeans(grouped));
    const variance = groupMeans(tf.square(centered) as tf.Tensor4D);
    const scale = tf.mul(tf.reshape(gamma, [1, 1, groups, perGroup]), tf.rsqrt(tf.add(variance, epsilon))); // [N, 1, G, C/G]
    return tf.reshape(tf.add(tf.mul(centered, scale), tf.reshape(beta, [1, 1, groups, perGroup])), [n, h, w, c]);
  });
}

/** {@link groupNormNHWC} sample by sample, each normalised by one `batchNorm` with per-channel statistics. */
export function groupNormPerChannel(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number): tf.Tensor4D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const samples = n === 1 ? [x] : (tf.split(x, n, 0) as tf.Tensor4D[]);
    const normalised = samples.map((sample) => {
      const c = sample.shape[3];
      const perGroup = c / groups;
      const grouped = tf.reshape(sample, [1, sample.size / c, groups, perGroup]) as tf.Tensor4D;
      const perChannel = (g: tf.Tensor4D): tf.Tensor1D => tf.reshape(tf.tile(tf.reshape(g, [groups, 1]), [1, perGroup]), [c]);
      const mean = perChannel(groupMeans(grouped));
      const centered = tf.batchNorm(grouped, mean, tf.onesLike(mean), undefined, undefined, 0); // x - mean
      const variance = perChannel(groupMeans(tf.square(centered)));
      return tf.batchNorm(sample, mean, variance, beta, gamma, epsilon);
    });
    return normalised.length === 1 ? normalised[0] : tf.concat(normalised, 0);
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
      return groupNormSiluNHWC(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.groups, this.epsilon, this.silu);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon, silu: this.silu };
  }
}
tf.serialization.registerClass(GroupNorm);
