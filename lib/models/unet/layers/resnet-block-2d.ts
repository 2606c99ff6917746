import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { silu } from './activations';
import { linear } from '../ops/linear';
import { groupNorm } from '../ops/group-norm-op';
import { channelsOf, conv2dNHWC } from './layer-utils';

export interface ResnetBlock2DArgs extends LayerArgs {
  outChannels: number;
  /** GroupNorm groups of `norm1` and `norm2`. */
  groups: number;
  /** GroupNorm epsilon. */
  eps: number;
  /** The output is `(shortcut + h) / outputScaleFactor`. */
  outputScaleFactor?: number;
}

/**
 * diffusers' `ResnetBlock2D` with `time_embedding_norm="default"` and SiLU, as a tfjs layer on NHWC input. Inputs
 * `[x: [N, H, W, Cin], temb: [N, T]]`, output `[N, H, W, outChannels]`:
 *
 * ```
 * h = conv1(silu(norm1(x))) + time_emb_proj(silu(temb))[:, None, None, :]
 * h = conv2(silu(norm2(h)))
 * y = ((Cin == outChannels ? x : conv_shortcut(x)) + h) / outputScaleFactor
 * ```
 * Weights (PyTorch names; conv kernels HWIO, linear `[in, out]`): `norm1.weight`, `norm1.bias`, `conv1.weight`,
 * `conv1.bias`, `time_emb_proj.weight`, `time_emb_proj.bias`, `norm2.weight`, `norm2.bias`, `conv2.weight`,
 * `conv2.bias`, and `conv_shortcut.weight` (1×1), `conv_shortcut.bias` when `Cin != outChannels`.
 *
 * ```ts
 * const y = new ResnetBlock2D({ outChannels: 256, groups: 32, eps: 1e-6, name: 'down_blocks.1.resnets.0' }).apply([x, temb]);
 * ```
 */
export class ResnetBlock2D extends tfl.layers.Layer {
  static className = 'ResnetBlock2D';
  readonly outChannels: number;
  readonly groups: number;
  readonly eps: number;
  readonly outputScaleFactor: number;
  private w: Record<string, LayerVariable> = {};

  constructor(args: ResnetBlock2DArgs) {
    super(args);
    this.outChannels = args.outChannels;
    this.groups = args.groups;
    this.eps = args.eps;
    this.outputScaleFactor = args.outputScaleFactor ?? 1;
  }

  private shapes(inputShape: Shape | Shape[]): [Shape, Shape] {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new Error(`${this.name}: expects two inputs [x (NHWC), temb ([N, T])]`);
    }
    return inputShape as [Shape, Shape];
  }

  override build(inputShape: Shape | Shape[]): void {
    const [xShape, tembShape] = this.shapes(inputShape);
    const cin = channelsOf(xShape, this.name);
    const cout = this.outChannels;
    const tembChannels = tembShape[tembShape.length - 1];
    if (tembShape.length !== 2 || tembChannels == null) {
      throw new Error(`${this.name}: temb must be [N, T] with T known, got [${tembShape.join(', ')}]`);
    }
    for (const [what, c] of [['input', cin], ['output', cout]] as const) {
      if (c % this.groups !== 0) throw new Error(`${this.name}: groups=${this.groups} does not divide the ${c} ${what} channels`);
    }
    const zeros = tfl.initializers.zeros();
    const add = (name: string, shape: number[]) => (this.w[name] = this.addWeight(name, shape, 'float32', zeros));
    add('norm1.weight', [cin]);
    add('norm1.bias', [cin]);
    add('conv1.weight', [3, 3, cin, cout]);
    add('conv1.bias', [cout]);
    add('time_emb_proj.weight', [tembChannels, cout]);
    add('time_emb_proj.bias', [cout]);
    add('norm2.weight', [cout]);
    add('norm2.bias', [cout]);
    add('conv2.weight', [3, 3, cout, cout]);
    add('conv2.bias', [cout]);
    if (cin !== cout) {
      add('conv_shortcut.weight', [1, 1, cin, cout]);
      add('conv_shortcut.bias', [cout]);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [xShape] = this.shapes(inputShape);
    return [xShape[0], xShape[1], xShape[2], this.outChannels];
  }

  private read(name: string): tf.Tensor {
    return this.w[name].read();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error(`${this.name}: expects two inputs [x, temb]`);
      const x = inputs[0] as tf.Tensor4D;
      const temb = inputs[1] as tf.Tensor2D;
      const r = (name: string) => this.read(name);
      let h = groupNorm(x, r('norm1.weight') as tf.Tensor1D, r('norm1.bias') as tf.Tensor1D, this.groups, this.eps, true);
      const t = linear(silu(temb) as tf.Tensor2D, r('time_emb_proj.weight') as tf.Tensor2D, r('time_emb_proj.bias') as tf.Tensor1D, temb.shape[0]);
      h = conv2dNHWC(h, r('conv1.weight') as tf.Tensor4D, r('conv1.bias') as tf.Tensor1D, 1, 'same');
      h = tf.add(h, tf.reshape(t, [t.shape[0], 1, 1, this.outChannels]));
      h = groupNorm(h, r('norm2.weight') as tf.Tensor1D, r('norm2.bias') as tf.Tensor1D, this.groups, this.eps, true);
      h = conv2dNHWC(h, r('conv2.weight') as tf.Tensor4D, r('conv2.bias') as tf.Tensor1D, 1, 'same');
      const shortcut = this.w['conv_shortcut.weight']
        ? conv2dNHWC(x, r('conv_shortcut.weight') as tf.Tensor4D, r('conv_shortcut.bias') as tf.Tensor1D, 1, 'valid')
        : x;
      const y = tf.add(shortcut, h);
      return this.outputScaleFactor === 1 ? y : tf.div(y, this.outputScaleFactor);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      outChannels: this.outChannels,
      groups: this.groups,
      eps: this.eps,
      outputScaleFactor: this.outputScaleFactor,
    };
  }
}
tf.serialization.registerClass(ResnetBlock2D);
