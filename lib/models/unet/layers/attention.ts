import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { attentionProducts } from '../ops/attention-products';
import { groupNorm } from '../ops/group-norm-op';
import { linear } from '../ops/linear';
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
 * The projections are `linear` ops on `[N*H*W, C]` rows with fused bias; the products run through the
 * `attentionProducts` op (ops/attention-products.ts picks their formulation per kernel path). Weights (PyTorch
 * names, linear `[in, out]`): `group_norm.weight`, `group_norm.bias`, `to_q.weight`, `to_q.bias`, `to_k.*`, `to_v.*`, `to_out.0.weight`, `to_out.0.bias`.
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

  /** A projection of `[N*H*W, C]` rows, `samples` = N. */
  private project(x2d: tf.Tensor2D, name: string, samples: number): tf.Tensor2D {
    return linear(x2d, this.w[`${name}.weight`].read() as tf.Tensor2D, this.w[`${name}.bias`].read() as tf.Tensor1D, samples);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs, this.name) as tf.Tensor4D;
      const [n, h, w, c] = x.shape;
      const hw = h * w;
      const normed =
        this.normNumGroups === null
          ? x
          : groupNorm(x, this.w['group_norm.weight'].read() as tf.Tensor1D, this.w['group_norm.bias'].read() as tf.Tensor1D, this.normNumGroups, this.eps, false);
      const s = tf.reshape(normed, [n * hw, c]) as tf.Tensor2D;
      const q = this.project(s, 'to_q', n);
      const k = this.project(s, 'to_k', n);
      const v = this.project(s, 'to_v', n);
      const scale = 1 / Math.sqrt(c / this.heads); // diffusers: dim_head ** -0.5
      const attended = attentionProducts(q, k, v, { samples: n, pixels: hw, heads: this.heads, scale });
      const out = tf.reshape(this.project(attended, 'to_out.0', n), [n, h, w, c]);
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

