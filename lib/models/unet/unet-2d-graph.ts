import * as tfl from '@tensorflow/tfjs-layers';
import { attentionHeads, timeEmbedDim, UNet2DConfig } from './config';
import { Attention } from './layers/attention';
import { Downsample2D } from './layers/downsample-2d';
import { GroupNorm } from './layers/group-norm';
import { ResnetBlock2D } from './layers/resnet-block-2d';
import { TimestepEmbedding } from './layers/timestep-embedding';
import { Timesteps } from './layers/timesteps';
import { Upsample2D } from './layers/upsample-2d';

/**
 * Names of the two model inputs: the NHWC sample and the float32 timesteps, shaped `[N, 1]` (a rank-1 input would
 * be expanded to `[N, 1]` by `LayersModel.predict`, as Keras does, so the input is declared `[N, 1]`).
 */
export const SAMPLE_INPUT_NAME = 'sample';
export const TIMESTEP_INPUT_NAME = 'timestep';

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
 * Assembles diffusers' `UNet2DModel` as a functional tfjs `LayersModel` with zero weights (load them with
 * `loadStateDict`). Inputs: `sample` `[N, H, W, inChannels]` (NHWC) and `timestep` `[N, 1]` float32; output
 * `[N, H, W, outChannels]`. Every layer is named after its diffusers module (`down_blocks.1.attentions.0`, …), so
 * a weight's diffusers key is its layer name, a dot, and its name inside the layer.
 *
 * ```ts
 * const model = buildUNet2DLayersModel(parseUNet2DConfig(json));
 * model.countParams(); // 35746307 for google/ddpm-cifar10-32
 * ```
 */
export function buildUNet2DLayersModel(config: UNet2DConfig): tfl.LayersModel {
  const c0 = config.blockOutChannels[0];
  const last = config.blockOutChannels.length - 1;
  const groups = config.normNumGroups;
  const eps = config.normEps;

  const sample = tfl.input({ shape: [null, null, config.inChannels], name: SAMPLE_INPUT_NAME, dtype: 'float32' });
  const timestep = tfl.input({ shape: [1], name: TIMESTEP_INPUT_NAME, dtype: 'float32' });

  // 1. time
  const timeProj = new Timesteps({
    numChannels: c0,
    flipSinToCos: config.flipSinToCos,
    downscaleFreqShift: config.freqShift,
    name: 'time_proj',
  }).apply(timestep) as tfl.SymbolicTensor;
  const emb = new TimestepEmbedding({ timeEmbedDim: timeEmbedDim(config), name: 'time_embedding' }).apply(timeProj) as tfl.SymbolicTensor;

  const resnet = (x: tfl.SymbolicTensor, outChannels: number, name: string, outputScaleFactor = 1) =>
    new ResnetBlock2D({ outChannels, groups, eps, outputScaleFactor, name }).apply([x, emb]) as tfl.SymbolicTensor;
  const attention = (x: tfl.SymbolicTensor, channels: number, name: string, normNumGroups: number, rescaleOutputFactor = 1) =>
    new Attention({ heads: attentionHeads(config, channels), normNumGroups, eps, rescaleOutputFactor, name }).apply(x) as tfl.SymbolicTensor;

  // 2. pre-process
  let x: tfl.SymbolicTensor = sample;
  if (config.centerInputSample) {
    x = tfl.layers.rescaling({ scale: 2, offset: -1, name: 'center_input_sample' }).apply(x) as tfl.SymbolicTensor;
  }
  const conv3x3 = (filters: number, name: string) =>
    tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', kernelInitializer: 'zeros', biasInitializer: 'zeros', name });
  x = conv3x3(c0, 'conv_in').apply(x) as tfl.SymbolicTensor;

  // 3. down
  const skips: tfl.SymbolicTensor[] = [x];
  config.downBlockTypes.forEach((type, i) => {
    const channels = config.blockOutChannels[i];
    for (let j = 0; j < config.layersPerBlock; j++) {
      x = resnet(x, channels, `down_blocks.${i}.resnets.${j}`);
      if (type === 'AttnDownBlock2D') x = attention(x, channels, `down_blocks.${i}.attentions.${j}`, groups);
      skips.push(x);
    }
    if (i < last) {
      const padding = config.downsamplePadding as 0 | 1;
      x = new Downsample2D({ outChannels: channels, padding, name: `down_blocks.${i}.downsamplers.0` }).apply(x) as tfl.SymbolicTensor;
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
      const skip = skips.pop() as tfl.SymbolicTensor;
      x = tfl.layers.concatenate({ axis: -1, name: `up_blocks.${i}.concat.${j}` }).apply([x, skip]) as tfl.SymbolicTensor;
      x = resnet(x, channels, `up_blocks.${i}.resnets.${j}`);
      if (type === 'AttnUpBlock2D') x = attention(x, channels, `up_blocks.${i}.attentions.${j}`, groups);
    }
    if (i < last) {
      x = new Upsample2D({ outChannels: channels, name: `up_blocks.${i}.upsamplers.0` }).apply(x) as tfl.SymbolicTensor;
    }
  });

  // 6. post-process
  x = new GroupNorm({ groups, epsilon: eps, silu: true, name: 'conv_norm_out' }).apply(x) as tfl.SymbolicTensor;
  x = conv3x3(config.outChannels, 'conv_out').apply(x) as tfl.SymbolicTensor;

  return tfl.model({ inputs: [sample, timestep], outputs: x, name: 'UNet2DModel' });
}
