import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerVariable, Shape } from '@tensorflow/tfjs-layers';
import type { UNet2DConfig } from './config';
import { attentionHeads, timeEmbedDim } from './config-dimensions';
import { Attention } from './layers/attention';
import { Downsample2D } from './layers/downsample-2d';
import { GroupNorm } from './layers/group-norm';
import { ResnetBlock2D } from './layers/resnet-block-2d';
import { TimestepEmbedding } from './layers/timestep-embedding';
import { TimestepsLayer } from './layers/timesteps';
import { Upsample2D } from './layers/upsample-2d';

/**
 * Names of the two model inputs: the NHWC sample and the float32 timesteps, shaped `[N, 1]` (a rank-1 input would
 * be expanded to `[N, 1]` by `LayersModel.predict`, as Keras does, so the input is declared `[N, 1]`).
 */
const SAMPLE_INPUT_NAME = 'sample';
const TIMESTEP_INPUT_NAME = 'timestep';

/**
 * The layer whose output is each traced point of the network, under diffusers' module names (the names of the
 * golden `debug_trace_*` fixtures): `time_proj`, `time_embedding`, `conv_in`, every `down_blocks.i.resnets.j` /
 * `.attentions.j`, each block's output `down_blocks.i`, `mid_block.attentions.0`, `mid_block`, `up_blocks.i`,
 * `conv_act` (GroupNorm and SiLU are one layer here, so `conv_norm_out` alone is not a point) and `conv_out`.
 */
export function traceLayerNames(config: UNet2DConfig): Map<string, string> {
  const names = new Map<string, string>();
  names.set('time_proj', 'time_proj');
  names.set('time_embedding', 'time_embedding');
  names.set('conv_in', 'conv_in');
  const last = config.blockOutChannels.length - 1;
  config.downBlockTypes.forEach((type, i) => {
    let output = '';
    for (let j = 0; j < config.layersPerBlock; j++) {
      output = `down_blocks.${i}.resnets.${j}`;
      names.set(output, output);
      if (type === 'AttnDownBlock2D') {
        output = `down_blocks.${i}.attentions.${j}`;
        names.set(output, output);
      }
    }
    names.set(`down_blocks.${i}`, i < last ? `down_blocks.${i}.downsamplers.0` : output);
  });
  if (config.addAttention) names.set('mid_block.attentions.0', 'mid_block.attentions.0');
  names.set('mid_block', 'mid_block.resnets.1');
  config.upBlockTypes.forEach((type, i) => {
    const j = config.layersPerBlock;
    const lastLayer = type === 'AttnUpBlock2D' ? `up_blocks.${i}.attentions.${j}` : `up_blocks.${i}.resnets.${j}`;
    names.set(`up_blocks.${i}`, i < last ? `up_blocks.${i}.upsamplers.0` : lastLayer);
  });
  names.set('conv_act', 'conv_norm_out');
  names.set('conv_out', 'conv_out');
  return names;
}

/**
 * How {@link assembleUNet2D} makes the graph's values: tfjs-layers symbolic tensors (the real model, weights
 * allocated) or bare shapes (weights only described, nothing allocated). The graph is written once, over this.
 */
interface UNet2DGraphBuilder<T> {
  /** A model input of `shape` (without the batch axis). */
  input(shape: Shape, name: string): T;
  /** `layer` applied to `inputs`. */
  apply(layer: tfl.layers.Layer, inputs: T | T[]): T;
}

/**
 * diffusers' `UNet2DModel` forward graph, over a {@link UNet2DGraphBuilder}. Every layer is named after its diffusers
 * module (`down_blocks.1.attentions.0`, …), so a weight's diffusers key is its layer name, a dot, and its name inside
 * the layer.
 */
function assembleUNet2D<T>(config: UNet2DConfig, g: UNet2DGraphBuilder<T>): { sample: T; timestep: T; output: T } {
  const c0 = config.blockOutChannels[0];
  const last = config.blockOutChannels.length - 1;
  const groups = config.normNumGroups;
  const eps = config.normEps;

  const sample = g.input([null, null, config.inChannels], SAMPLE_INPUT_NAME);
  const timestep = g.input([1], TIMESTEP_INPUT_NAME);

  // 1. time
  const timeProj = g.apply(
    new TimestepsLayer({ numChannels: c0, flipSinToCos: config.flipSinToCos, downscaleFreqShift: config.freqShift, name: 'time_proj' }),
    timestep,
  );
  const emb = g.apply(new TimestepEmbedding({ timeEmbedDim: timeEmbedDim(config), name: 'time_embedding' }), timeProj);

  const resnet = (x: T, outChannels: number, name: string, outputScaleFactor = 1) =>
    g.apply(new ResnetBlock2D({ outChannels, groups, eps, outputScaleFactor, name }), [x, emb]);
  const attention = (x: T, channels: number, name: string, normNumGroups: number, rescaleOutputFactor = 1) =>
    g.apply(new Attention({ heads: attentionHeads(config, channels), normNumGroups, eps, rescaleOutputFactor, name }), x);

  // 2. pre-process
  let x: T = sample;
  if (config.centerInputSample) {
    x = g.apply(tfl.layers.rescaling({ scale: 2, offset: -1, name: 'center_input_sample' }), x);
  }
  const conv3x3 = (filters: number, name: string) =>
    tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', kernelInitializer: 'zeros', biasInitializer: 'zeros', name });
  x = g.apply(conv3x3(c0, 'conv_in'), x);

  // 3. down
  const skips: T[] = [x];
  config.downBlockTypes.forEach((type, i) => {
    const channels = config.blockOutChannels[i];
    for (let j = 0; j < config.layersPerBlock; j++) {
      x = resnet(x, channels, `down_blocks.${i}.resnets.${j}`);
      if (type === 'AttnDownBlock2D') x = attention(x, channels, `down_blocks.${i}.attentions.${j}`, groups);
      skips.push(x);
    }
    if (i < last) {
      const padding = config.downsamplePadding as 0 | 1;
      x = g.apply(new Downsample2D({ outChannels: channels, padding, name: `down_blocks.${i}.downsamplers.0` }), x);
      skips.push(x);
    }
  });

  // 4. mid
  const midChannels = config.blockOutChannels[last];
  const scale = config.midBlockScaleFactor;
  x = resnet(x, midChannels, 'mid_block.resnets.0', scale);
  if (config.addAttention) {
    x = attention(x, midChannels, 'mid_block.attentions.0', config.attnNormNumGroups ?? groups, scale);
  }
  x = resnet(x, midChannels, 'mid_block.resnets.1', scale);

  // 5. up: each resnet takes the concatenation [x, skip] (channels first x, then the skip, as torch.cat(dim=1))
  config.upBlockTypes.forEach((type, i) => {
    const channels = config.blockOutChannels[last - i];
    for (let j = 0; j <= config.layersPerBlock; j++) {
      const skip = skips.pop() as T;
      x = g.apply(tfl.layers.concatenate({ axis: -1, name: `up_blocks.${i}.concat.${j}` }), [x, skip]);
      x = resnet(x, channels, `up_blocks.${i}.resnets.${j}`);
      if (type === 'AttnUpBlock2D') x = attention(x, channels, `up_blocks.${i}.attentions.${j}`, groups);
    }
    if (i < last) {
      x = g.apply(new Upsample2D({ outChannels: channels, name: `up_blocks.${i}.upsamplers.0` }), x);
    }
  });

  // 6. post-process
  x = g.apply(new GroupNorm({ groups, epsilon: eps, silu: true, name: 'conv_norm_out' }), x);
  x = g.apply(conv3x3(config.outChannels, 'conv_out'), x);
  return { sample, timestep, output: x };
}

/**
 * Assembles diffusers' `UNet2DModel` as a functional tfjs `LayersModel` with zero weights (load them with
 * `loadStateDict`). Inputs: `sample` `[N, H, W, inChannels]` (NHWC) and `timestep` `[N, 1]` float32; output
 * `[N, H, W, outChannels]`.
 *
 * ```ts
 * const model = buildUNet2DLayersModel(parseUNet2DConfig(json));
 * model.countParams(); // 35746307 for google/ddpm-cifar10-32
 * ```
 */
export function buildUNet2DLayersModel(config: UNet2DConfig): tfl.LayersModel {
  const { sample, timestep, output } = assembleUNet2D<tfl.SymbolicTensor>(config, {
    input: (shape, name) => tfl.input({ shape, name, dtype: 'float32' }),
    apply: (layer, inputs) => layer.apply(inputs) as tfl.SymbolicTensor,
  });
  return tfl.model({ inputs: [sample, timestep], outputs: output, name: 'UNet2DModel' });
}

/** One weight of a layer, as the layer's own `build` declares it. */
export interface LayerWeightShape {
  /** The layer's name: its diffusers module path (`down_blocks.0.resnets.1`). */
  layer: string;
  /** The weight's name inside the layer (`conv1.weight`, or tfjs' `kernel` / `bias`). */
  name: string;
  /** The tfjs shape (HWIO kernels, `[in, out]` matrices). */
  shape: number[];
}

/**
 * The weights the UNet of `config` has, with their shapes, found WITHOUT allocating any: the graph of
 * {@link assembleUNet2D} is walked on shapes, and each layer's own `build` runs with `addWeight` recording the name
 * and shape it is asked for instead of creating a tensor. So a config that would need gigabytes is described in
 * microseconds, and the names and shapes are by construction those of {@link buildUNet2DLayersModel}.
 *
 * ```ts
 * unet2DLayerWeightShapes(config)[0]; // { layer: 'time_embedding', name: 'linear_1.weight', shape: [32, 128] }
 * ```
 */
export function unet2DLayerWeightShapes(config: UNet2DConfig): LayerWeightShape[] {
  const weights: LayerWeightShape[] = [];
  assembleUNet2D<Shape | Shape[]>(config, {
    input: (shape) => [null, ...shape],
    apply: (layer, inputs) => {
      const inputShape = inputs as Shape | Shape[];
      const record = (name: string, shape: Shape): LayerVariable => {
        if (shape.some((d) => d === null)) throw new Error(`${layer.name}: weight ${name} has an unknown dimension [${shape.join(', ')}]`);
        weights.push({ layer: layer.name, name, shape: shape as number[] });
        return undefined as unknown as LayerVariable;
      };
      Object.defineProperty(layer, 'addWeight', { value: record });
      layer.build(inputShape);
      return layer.computeOutputShape(inputShape);
    },
  });
  return weights;
}
