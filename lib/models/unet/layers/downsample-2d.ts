import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { channelsOf, conv2dNHWC, singleInput, singleShape } from './layer-utils';

export interface Downsample2DArgs extends LayerArgs {
  outChannels: number;
  /** 0: pad right and bottom by one, then a valid conv (diffusers' `downsample_padding=0`); 1: pad 1 on every side. */
  padding: 0 | 1;
}

/**
 * diffusers' `Downsample2D(use_conv=True)`: a 3×3 stride-2 convolution on NHWC input. With `padding: 0` diffusers
 * pads the right and bottom edges by one zero row/column before a valid conv; here that padding is passed to the
 * convolution itself (explicit padding, no extra copy). Weights: `conv.weight` `[3, 3, Cin, Cout]`, `conv.bias`.
 *
 * ```ts
 * const y = new Downsample2D({ outChannels: 128, padding: 0, name: 'down_blocks.0.downsamplers.0' }).apply(x);
 * ```
 */
export class Downsample2D extends tfl.layers.Layer {
  static className = 'Downsample2D';
  readonly outChannels: number;
  readonly padding: 0 | 1;
  private kernel!: LayerVariable;
  private bias!: LayerVariable;

  constructor(args: Downsample2DArgs) {
    super(args);
    if (args.padding !== 0 && args.padding !== 1) throw new Error(`Downsample2D: padding=${args.padding} is not supported (0 or 1)`);
    this.outChannels = args.outChannels;
    this.padding = args.padding;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = channelsOf(singleShape(inputShape, this.name), this.name);
    this.kernel = this.addWeight('conv.weight', [3, 3, c, this.outChannels], 'float32', tfl.initializers.zeros());
    this.bias = this.addWeight('conv.bias', [this.outChannels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w] = singleShape(inputShape, this.name);
    // PyTorch: floor((size + 2p - 3) / 2) + 1 with p = 1, or size + 1 - 3 when the pad is one-sided.
    const out = (size: number | null) => (size == null ? null : Math.floor((size + (this.padding === 0 ? 1 : 2) - 3) / 2) + 1);
    return [n, out(h), out(w), this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs, this.name) as tf.Tensor4D;
      const p = this.padding;
      const pad: [[number, number], [number, number], [number, number], [number, number]] =
        p === 0 ? [[0, 0], [0, 1], [0, 1], [0, 0]] : [[0, 0], [1, 1], [1, 1], [0, 0]];
      return conv2dNHWC(x, this.kernel.read() as tf.Tensor4D, this.bias.read() as tf.Tensor1D, 2, pad);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), outChannels: this.outChannels, padding: this.padding };
  }
}
tf.serialization.registerClass(Downsample2D);
