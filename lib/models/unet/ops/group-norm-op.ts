import * as tf from '@tensorflow/tfjs-core';
import { silu as siluOp } from '../layers/activations';
import { GROUP_NORM_KERNEL } from '../../../backends/native/kernel-names';
import { activeKernelPath, KernelPath } from './kernel-path';

/**
 * Group normalisation of an NHWC tensor, as `torch.nn.GroupNorm(groups, C, eps, affine=True)` on NCHW, then SiLU
 * when `silu`: each sample's channels are split into `groups` consecutive groups, each normalised over (H, W, its
 * channels) with the biased variance, then scaled by `gamma` and shifted by `beta` per channel.
 *
 * One formulation per kernel path (measured: bench/group-norm.ts), all with the same math and each computing every
 * sample on its own (batch invariant):
 * - `wasm+native`: one fused native kernel, statistics in double ({@link groupNormNative}).
 * - `cpu`: its broadcasting binary ops walk indices element by element (≈10× slower than same-shape ops), so each
 *   sample is normalised by one `batchNorm` with the group statistics repeated per channel ({@link groupNormPerChannel}).
 * - `wasm` and others (XNNPACK's broadcasting add/mul are SIMD; its batchNorm divides per element in double):
 *   `(x - mean) * (gamma * rstd) + beta` with broadcasting, the whole batch at once ({@link groupNormBroadcast}).
 *
 * ```ts
 * const h = groupNorm(x, gamma, beta, 32, 1e-6, true); // x: [N, H, W, 128]
 * ```
 * @throws when `groups` does not divide the channels or gamma / beta are not `[C]`.
 */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number, silu: boolean): tf.Tensor4D {
  checkGroupNormArgs('groupNorm', x, gamma, beta, groups, epsilon);
  return GROUP_NORM_BY_PATH[activeKernelPath()](x, gamma, beta, groups, epsilon, silu);
}

type GroupNormImpl = (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number, silu: boolean) => tf.Tensor4D;

/** The tfjs-ops formulation `normalise`, then SiLU when asked. */
function withSilu(normalise: (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number) => tf.Tensor4D): GroupNormImpl {
  return (x, gamma, beta, groups, epsilon, silu) =>
    tf.tidy(() => {
      const y = normalise(x, gamma, beta, groups, epsilon);
      return silu ? siluOp(y) : y;
    });
}

const GROUP_NORM_BY_PATH: Readonly<Record<KernelPath, GroupNormImpl>> = {
  'wasm+native': (x, gamma, beta, groups, epsilon, silu) =>
    (groupNormNative(x, gamma, beta, groups, epsilon, silu) as tf.Tensor4D | null) ?? withSilu(groupNormBroadcast)(x, gamma, beta, groups, epsilon, silu),
  cpu: withSilu(groupNormPerChannel),
  wasm: withSilu(groupNormBroadcast),
  other: withSilu(groupNormBroadcast),
};

function checkGroupNormArgs(op: string, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon: number): void {
  if (x.rank !== 4) throw new Error(`${op}: x must be NHWC of rank 4, got shape [${x.shape.join(', ')}]`);
  const c = x.shape[3] as number;
  if (!Number.isSafeInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new Error(`${op}: groups=${groups} does not divide the ${c} channels of x [${x.shape.join(', ')}]`);
  }
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.size !== c) throw new Error(`${op}: ${name} has shape [${t.shape.join(', ')}], expected [${c}]`);
  }
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new Error(`${op}: epsilon=${epsilon} must be a finite number >= 0`);
}

/** Mean over pixels and the channels of each group of an `[N, pixels, groups, C/groups]` view: `[N, 1, groups, 1]`. */
function groupMeans(grouped: tf.Tensor4D): tf.Tensor4D {
  const [n, pixels, groups, perGroup] = grouped.shape;
  const rowSums = tf.sum(grouped, 3); // [N, pixels, groups]: the last axis, no transpose
  const sums = tf.sum(tf.transpose(rowSums, [0, 2, 1]), 2); // [N, groups]: a transpose 1/perGroup the size
  return tf.reshape(tf.div(sums, pixels * perGroup), [n, 1, groups, 1]);
}

/**
 * GroupNorm (no SiLU) with broadcasting element-wise ops, the whole batch at once. Statistics are sums over the last
 * axis of `[.., C/groups]` views, then over the pixels (a small transpose): no reduction over a large inner axis.
 *
 * ```ts
 * const y = groupNormBroadcast(x, gamma, beta, 32, 1e-6);
 * ```
 */
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

/**
 * GroupNorm (no SiLU) sample by sample, each normalised by one `batchNorm` with per-channel statistics.
 *
 * ```ts
 * const y = groupNormPerChannel(x, gamma, beta, 32, 1e-6);
 * ```
 */
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

/**
 * GroupNorm (+ SiLU) of an NHWC tensor in one native kernel, when the active backend is wasm with the native
 * kernels enabled; otherwise null (and for non-float32 or empty input). Statistics are accumulated in double, so
 * results differ from the float32 tfjs ops by float rounding only (~1e-6 relative).
 *
 * ```ts
 * const y = groupNormNative(x, gamma, beta, 32, 1e-6, true) ?? groupNorm(x, gamma, beta, 32, 1e-6, true);
 * ```
 * @throws when `groups` does not divide the channels or gamma / beta are not `[C]`.
 */
export function groupNormNative(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon: number, silu: boolean): tf.Tensor | null {
  if (activeKernelPath() !== 'wasm+native') return null;
  if (x.dtype !== 'float32' || gamma.dtype !== 'float32' || beta.dtype !== 'float32' || x.rank !== 4) return null;
  checkGroupNormArgs('groupNormNative', x, gamma, beta, groups, epsilon);
  if (x.size === 0) return null;
  return tf.engine().runKernel(GROUP_NORM_KERNEL, { x, gamma, beta }, { groups, epsilon, silu }) as tf.Tensor;
}
