import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from './layer-utils';
import type { Shape, LayerVariable } from '@tensorflow/tfjs-layers';
import { groupNorm } from '../ops/group-norm-op';
import { channelsOf, singleInput, singleShape } from './layer-utils';

export interface GroupNormArgs extends LayerArgs {
  /** Number of channel groups; must divide the channel count. */
  groups: number;
  epsilon: number;
  /** Apply SiLU after the normalisation (diffusers' `norm` + `nonlinearity` pairs). */
  silu?: boolean;
}

/**
 * `torch.nn.GroupNorm` on NHWC input as a tfjs layer, optionally followed by SiLU (the op: `ops/group-norm-op.ts`). Weights: `weight` (gamma) and
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
      return groupNorm(x, this.gamma.read() as tf.Tensor1D, this.beta.read() as tf.Tensor1D, this.groups, this.epsilon, this.silu);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon, silu: this.silu };
  }
}
tf.serialization.registerClass(GroupNorm);
