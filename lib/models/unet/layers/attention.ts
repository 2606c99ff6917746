import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { nativeKernelsActive } from '../../../backends/native/group-norm';
import { groupNormSiluNHWC } from './group-norm';
import { channelsOf, singleInput, singleShape } from './layer-utils';

export interface AttentionArgs extends LayerArgs {
  /** Number of heads; must divide the channel count (head width = C / heads). */
  heads: number;
  /** Groups of the GroupNorm applied first; `null` = no GroupNorm. */
  normNumGroups: number | null;
  /** GroupNorm epsilon. */
  eps: number;
  /** The output is `(attention + x) / rescaleOutputFactor`. */
  rescaleOutputFactor?: number;
}

/**
 * Spatial self-attention of diffusers' `Attention(..., residual_connection=True, bias=True, upcast_softmax=True,
 * _from_deprecated_attn_block=True)` (the attention of AttnDownBlock2D / AttnUpBlock2D / UNetMidBlock2D) as a tfjs
 * layer on NHWC input `[N, H, W, C]`:
 *
 * ```
 * s = group_norm(x) viewed as [N, H*W, C]
 * q, k, v = to_q(s), to_k(s), to_v(s)                       (per head: width d = C / heads)
 * o = softmax(q kᵀ · d^-0.5) v                               (per sample and head)
 * y = (to_out.0(o) + x) / rescaleOutputFactor
 * ```
 * For speed on wasm (whose BatchMatMul is fast only for one batch without transposes), the projections are single
 * 2-D matmuls `[N*H*W, C] × [C, C]` with fused bias and the attention products run per sample and head as 2-D
 * matmuls on `kᵀ` made by one explicit transpose. Weights (PyTorch names, linear `[in, out]`): `group_norm.weight`,
 * `group_norm.bias`, `to_q.weight`, `to_q.bias`, `to_k.*`, `to_v.*`, `to_out.0.weight`, `to_out.0.bias`.
 *
 * ```ts
 * const y = new Attention({ heads: 1, normNumGroups: 32, eps: 1e-6, name: 'mid_block.attentions.0' }).apply(x);
 * ```
 */
export class Attention extends tfl.layers.Layer {
  static className = 'Attention';
  readonly heads: number;
  readonly normNumGroups: number | null;
  readonly eps: number;
  readonly rescaleOutputFactor: number;
  private w: Record<string, LayerVariable> = {};

  constructor(args: AttentionArgs) {
    super(args);
    if (!Number.isSafeInteger(args.heads) || args.heads <= 0) throw new Error(`Attention: heads=${args.heads} must be a positive integer`);
    this.heads = args.heads;
    this.normNumGroups = args.normNumGroups;
    this.eps = args.eps;
    this.rescaleOutputFactor = args.rescaleOutputFactor ?? 1;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = channelsOf(singleShape(inputShape, this.name), this.name);
    if (c % this.heads !== 0) throw new Error(`${this.name}: heads=${this.heads} does not divide the ${c} channels`);
    if (this.normNumGroups !== null && c % this.normNumGroups !== 0) {
      throw new Error(`${this.name}: normNumGroups=${this.normNumGroups} does not divide the ${c} channels`);
    }
    const zeros = tfl.initializers.zeros();
    const add = (name: string, shape: number[]) => (this.w[name] = this.addWeight(name, shape, 'float32', zeros));
    if (this.normNumGroups !== null) {
      add('group_norm.weight', [c]);
      add('group_norm.bias', [c]);
    }
    for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) {
      add(`${p}.weight`, [c, c]);
      add(`${p}.bias`, [c]);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape, this.name);
  }

  private project(x2d: tf.Tensor2D, name: string): tf.Tensor2D {
    return tf.fused.matMul({ a: x2d, b: this.w[`${name}.weight`].read() as tf.Tensor2D, bias: this.w[`${name}.bias`].read() }) as tf.Tensor2D;
  }

  /**
   * softmax(q kᵀ · scale) v per sample and head, on [H*W, d] blocks: wasm's BatchMatMul is fast only for batch 1
   * without transposes, so the products run as 2D matmuls.
   */
  private attendPerSample(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, n: number, hw: number, headDim: number, scale: number): tf.Tensor2D {
    // Per-sample, per-head [H*W, d] blocks of a [N*H*W, C] matrix (no copy when there is only one).
    const block = (m: tf.Tensor2D, sample: number, head: number): tf.Tensor2D =>
      n === 1 && this.heads === 1 ? m : (tf.slice(m, [sample * hw, head * headDim], [hw, headDim]) as tf.Tensor2D);
    const samples: tf.Tensor2D[] = [];
    for (let i = 0; i < n; i++) {
      const heads: tf.Tensor2D[] = [];
      for (let j = 0; j < this.heads; j++) {
        const kT = tf.transpose(block(k, i, j));
        const scores = tf.mul(tf.matMul(block(q, i, j), kT), scale);
        heads.push(tf.matMul(tf.softmax(scores), block(v, i, j)));
      }
      samples.push(heads.length === 1 ? heads[0] : tf.concat(heads, 1));
    }
    return samples.length === 1 ? samples[0] : tf.concat(samples, 0);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs, this.name) as tf.Tensor4D;
      const [n, h, w, c] = x.shape;
      const hw = h * w;
      const normed =
        this.normNumGroups === null
          ? x
          : groupNormSiluNHWC(x, this.w['group_norm.weight'].read() as tf.Tensor1D, this.w['group_norm.bias'].read() as tf.Tensor1D, this.normNumGroups, this.eps, false);
      const s = tf.reshape(normed, [n * hw, c]) as tf.Tensor2D;
      const q = this.project(s, 'to_q');
      const k = this.project(s, 'to_k');
      const v = this.project(s, 'to_v');
      const headDim = c / this.heads;
      const scale = 1 / Math.sqrt(headDim); // diffusers: dim_head ** -0.5
      const attended =
        this.heads === 1 && nativeKernelsActive()
          ? attendBatched(q, k, v, n, hw, c, scale)
          : this.attendPerSample(q, k, v, n, hw, headDim, scale);
      const out = tf.reshape(this.project(attended, 'to_out.0'), [n, h, w, c]);
      const y = tf.add(out, x);
      return this.rescaleOutputFactor === 1 ? y : tf.div(y, this.rescaleOutputFactor);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      heads: this.heads,
      normNumGroups: this.normNumGroups,
      eps: this.eps,
      rescaleOutputFactor: this.rescaleOutputFactor,
    };
  }
}
tf.serialization.registerClass(Attention);

/**
 * One head's attention for the whole batch in two batched products: the native BatchMatMul kernel runs batched,
 * transposed products in one call, so no per-sample slices or transposes are needed.
 */
function attendBatched(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, n: number, hw: number, c: number, scale: number): tf.Tensor2D {
  const scores = tf.mul(tf.matMul(tf.reshape(q, [n, hw, c]), tf.reshape(k, [n, hw, c]), false, true), scale);
  return tf.reshape(tf.matMul(tf.softmax(scores), tf.reshape(v, [n, hw, c])), [n * hw, c]) as tf.Tensor2D;
}
