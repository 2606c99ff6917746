import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { linear } from '../ops/linear';
import { silu } from './activations';
import { singleInput, singleShape } from './layer-utils';

export interface TimestepEmbeddingArgs extends LayerArgs {
  /** Width of the output (diffusers `time_embed_dim`). */
  timeEmbedDim: number;
}

/**
 * diffusers' `TimestepEmbedding` MLP as a tfjs layer: `linear_2(silu(linear_1(x)))`, `[N, in]` to
 * `[N, timeEmbedDim]`. Weights `linear_1.weight` `[in, dim]`, `linear_1.bias`, `linear_2.weight` `[dim, dim]`,
 * `linear_2.bias` (linear weights stored `[in, out]`, the transpose of PyTorch's).
 *
 * ```ts
 * const emb = new TimestepEmbedding({ timeEmbedDim: 512, name: 'time_embedding' }).apply(timeProj); // [N, 512]
 * ```
 */
export class TimestepEmbedding extends tfl.layers.Layer {
  static className = 'TimestepEmbedding';
  readonly timeEmbedDim: number;
  private linear1Weight!: LayerVariable;
  private linear1Bias!: LayerVariable;
  private linear2Weight!: LayerVariable;
  private linear2Bias!: LayerVariable;

  constructor(args: TimestepEmbeddingArgs) {
    super(args);
    this.timeEmbedDim = args.timeEmbedDim;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = singleShape(inputShape, this.name);
    const inChannels = shape[shape.length - 1];
    if (shape.length !== 2 || inChannels == null) throw new Error(`${this.name}: expects [N, C] input with C known, got [${shape.join(', ')}]`);
    const zeros = tfl.initializers.zeros();
    this.linear1Weight = this.addWeight('linear_1.weight', [inChannels, this.timeEmbedDim], 'float32', zeros);
    this.linear1Bias = this.addWeight('linear_1.bias', [this.timeEmbedDim], 'float32', zeros);
    this.linear2Weight = this.addWeight('linear_2.weight', [this.timeEmbedDim, this.timeEmbedDim], 'float32', zeros);
    this.linear2Bias = this.addWeight('linear_2.bias', [this.timeEmbedDim], 'float32', zeros);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [singleShape(inputShape, this.name)[0], this.timeEmbedDim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleInput(inputs, this.name) as tf.Tensor2D;
      const n = x.shape[0];
      const h = linear(x, this.linear1Weight.read() as tf.Tensor2D, this.linear1Bias.read() as tf.Tensor1D, n);
      return linear(silu(h) as tf.Tensor2D, this.linear2Weight.read() as tf.Tensor2D, this.linear2Bias.read() as tf.Tensor1D, n);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), timeEmbedDim: this.timeEmbedDim };
  }
}
tf.serialization.registerClass(TimestepEmbedding);
