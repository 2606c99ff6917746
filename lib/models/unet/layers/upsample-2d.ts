import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { channelsOf, conv2dNHWC, singleInput, singleShape } from './layer-utils';

export interface Upsample2DArgs extends LayerArgs {
  outChannels: number;
}

/**
 * diffusers' `Upsample2D(use_conv=True)`: nearest-neighbour ×2 (`F.interpolate(scale_factor=2, mode="nearest")`,
 * output pixel (i, j) copies input (⌊i/2⌋, ⌊j/2⌋)), then a 3×3 conv padded 1, on NHWC input. Weights:
 * `conv.weight` `[3, 3, Cin, Cout]`, `conv.bias`.
 *
 * ```ts
 * const y = new Upsample2D({ outChannels: 256, name: 'up_blocks.0.upsamplers.0' }).apply(x); // H, W doubled
 * ```
 */
export class Upsample2D extends tfl.layers.Layer {
  static className = 'Upsample2D';
  readonly outChannels: number;
  private kernel!: LayerVariable;
  private bias!: LayerVariable;

  constructor(args: Upsample2DArgs) {
    super(args);
    this.outChannels = args.outChannels;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = channelsOf(singleShape(inputShape, this.name), this.name);
    this.kernel = this.addWeight('conv.weight', [3, 3, c, this.outChannels], 'float32', tfl.initializers.zeros());
    this.bias = this.addWeight('conv.bias', [this.outChannels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [n, h, w] = singleShape(inputShape, this.name);
    return [n, h == null ? null : 2 * h, w == null ? null : 2 * w, this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs, this.name) as tf.Tensor4D;
      const [, h, w] = x.shape;
      const up = tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w], false, false);
      return conv2dNHWC(up, this.kernel.read() as tf.Tensor4D, this.bias.read() as tf.Tensor1D, 1, 'same');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), outChannels: this.outChannels };
  }
}
tf.serialization.registerClass(Upsample2D);
