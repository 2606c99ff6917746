import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Shape } from '@tensorflow/tfjs-layers';

/**
 * The constructor arguments of a tfjs Layer (`name`, `trainable`, …), taken from the public `layers.Layer` class:
 * tfjs-layers exports no `LayerArgs` from its entry, and no file here imports its private modules.
 */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

/** The one tensor a single-input layer receives (tfjs-layers may wrap it in a list). */
export function singleInput(inputs: tf.Tensor | tf.Tensor[], layer: string): tf.Tensor {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1) throw new Error(`${layer}: expected one input tensor, got ${inputs.length}`);
  return inputs[0];
}

/** The one shape a single-input layer is built with. */
export function singleShape(inputShape: Shape | Shape[], layer: string): Shape {
  if (inputShape.length > 0 && Array.isArray(inputShape[0])) {
    const shapes = inputShape as Shape[];
    if (shapes.length !== 1) throw new Error(`${layer}: expected one input, got ${shapes.length}`);
    return shapes[0];
  }
  return inputShape as Shape;
}

/** The channel count (last axis) of an NHWC input shape, which must be known when the layer is built. */
export function channelsOf(shape: Shape, layer: string): number {
  if (shape.length !== 4) throw new Error(`${layer}: expects an NHWC input of rank 4, got shape [${shape.join(', ')}]`);
  const c = shape[3];
  if (c === null || c === undefined) throw new Error(`${layer}: the channel count (last axis) must be known, got shape [${shape.join(', ')}]`);
  return c;
}

/**
 * A 2-D convolution on NHWC input with an HWIO kernel and a per-channel bias, in one fused tfjs op (the bias add
 * costs nothing extra on cpu and wasm). `pad` is tfjs' padding: 'same' or explicit per-axis pairs.
 */
export function conv2dNHWC(
  x: tf.Tensor4D,
  kernelHWIO: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: 1 | 2,
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]],
): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter: kernelHWIO, bias, strides, pad, dataFormat: 'NHWC' });
}
