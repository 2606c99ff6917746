import { assertConfigObject, ConfigError, describeConfigValue, hasOwnKey } from '../../config/config-error';
import {
  boolean,
  CONFIG_LIMITS_DOC,
  AllFieldsDeclared,
  ConfigField,
  fieldsOf,
  consoleWarningSink,
  CrossCheckContext,
  defineConfigSchema,
  FieldType,
  finiteNumber,
  integer,
  list,
  nullable,
  oneOf,
  RefusedKey,
  unknownKeysWarning,
  WarningSink,
} from '../../config/config-schema';
import { parseBoundedJson } from '../../io/bounded-json';
import { unet2DParameterCount } from './weight-specs';
import { CONFIG_LIMITS } from '../../config/limits';

/**
 * The configuration of a diffusers `UNet2DModel` (diffusers 0.30.3, `models/unets/unet_2d.py`), with the Python
 * config keys in camelCase. {@link parseUNet2DConfig} reads a `config.json`, fills diffusers' defaults for missing
 * keys (old checkpoints such as google/ddpm-cifar10-32 lack many) and rejects anything this port does not build.
 */
export interface UNet2DConfig {
  /** Height and width the model was trained at (informational: any size divisible by 2^(blocks-1) runs). */
  sampleSize: number | [number, number] | null;
  inChannels: number;
  outChannels: number;
  /** `sample = 2 * sample - 1` before `conv_in`. */
  centerInputSample: boolean;
  timeEmbeddingType: 'positional';
  /** Width of the time embedding; `null` = `4 * blockOutChannels[0]` (diffusers ≥ 0.31 key; absent = null). */
  timeEmbeddingDim: number | null;
  freqShift: number;
  flipSinToCos: boolean;
  downBlockTypes: DownBlockType[];
  midBlockType: 'UNetMidBlock2D';
  upBlockTypes: UpBlockType[];
  blockOutChannels: number[];
  layersPerBlock: number;
  midBlockScaleFactor: number;
  /** 0: pad right/bottom by one, then a stride-2 valid conv; p > 0: a stride-2 conv padded p on every side. */
  downsamplePadding: number;
  downsampleType: 'conv';
  upsampleType: 'conv';
  /** Training-only (inference is deterministic); kept for the round trip. */
  dropout: number;
  actFn: 'silu' | 'swish';
  /** Channels per attention head; `null` = one head spanning all channels. */
  attentionHeadDim: number | null;
  normNumGroups: number;
  /** Groups of the mid block attention's GroupNorm; `null` = `normNumGroups`. */
  attnNormNumGroups: number | null;
  normEps: number;
  resnetTimeScaleShift: 'default';
  addAttention: boolean;
  classEmbedType: null;
  numClassEmbeds: null;
  /** Only used by `time_embedding_type: learned`; kept for the round trip. */
  numTrainTimesteps: number | null;
}

export type DownBlockType = 'DownBlock2D' | 'AttnDownBlock2D';
export type UpBlockType = 'UpBlock2D' | 'AttnUpBlock2D';

const SUPPORTED_DOWN_BLOCK_TYPES: readonly DownBlockType[] = ['DownBlock2D', 'AttnDownBlock2D'];
const SUPPORTED_UP_BLOCK_TYPES: readonly UpBlockType[] = ['UpBlock2D', 'AttnUpBlock2D'];

const field = fieldsOf<UNet2DConfig>();
const channels = integer({ min: 1, max: CONFIG_LIMITS.maxChannels });
const blockList = { minLength: 1, maxLength: CONFIG_LIMITS.maxBlocks };
// diffusers strips a "UNetRes" prefix from block type names (get_down_block / get_up_block).
const stripRes = (v: unknown): unknown => (typeof v === 'string' && v.startsWith('UNetRes') ? v.slice(7) : v);

/** `sample_size`: a positive integer, a `[height, width]` pair, or null. */
const sampleSizeType: FieldType<UNet2DConfig['sampleSize']> = {
  expected: 'must be a positive integer, a [height, width] pair or null',
  check(value, path, fail) {
    if (value === null) return null;
    const side = integer({ min: 1, max: CONFIG_LIMITS.maxSampleSize });
    if (Array.isArray(value)) {
      if (value.length !== 2) return fail(path, value, this.expected);
      return [side.check(value[0], `${path}[0]`, fail), side.check(value[1], `${path}[1]`, fail)];
    }
    if (typeof value !== 'number') return fail(path, value, this.expected);
    return side.check(value, path, fail);
  },
};

/**
 * Every field of diffusers 0.30.3's `UNet2DModel.__init__`, declared once: camelCase and snake_case names, type and
 * limits, and diffusers' default (used for keys a config.json does not have, as `UNet2DModel.from_config` does).
 */
const UNET_2D_FIELDS = [
  field('sampleSize', 'sample_size', sampleSizeType, null),
  field('inChannels', 'in_channels', channels, 3),
  field('outChannels', 'out_channels', channels, 3),
  field('centerInputSample', 'center_input_sample', boolean(), false),
  field('timeEmbeddingType', 'time_embedding_type', oneOf(['positional']), 'positional'),
  field('timeEmbeddingDim', 'time_embedding_dim', nullable(channels), null),
  field('freqShift', 'freq_shift', finiteNumber(), 0),
  field('flipSinToCos', 'flip_sin_to_cos', boolean(), true),
  field(
    'downBlockTypes',
    'down_block_types',
    list(oneOf(SUPPORTED_DOWN_BLOCK_TYPES, { normalize: stripRes }), blockList),
    ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'],
  ),
  field('midBlockType', 'mid_block_type', oneOf(['UNetMidBlock2D']), 'UNetMidBlock2D'),
  field(
    'upBlockTypes',
    'up_block_types',
    list(oneOf(SUPPORTED_UP_BLOCK_TYPES, { normalize: stripRes }), blockList),
    ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'],
  ),
  field('blockOutChannels', 'block_out_channels', list(channels, blockList), [224, 448, 672, 896]),
  field('layersPerBlock', 'layers_per_block', integer({ min: 1, max: CONFIG_LIMITS.maxLayersPerBlock }), 2),
  field('midBlockScaleFactor', 'mid_block_scale_factor', finiteNumber({ above: 0 }), 1),
  field('downsamplePadding', 'downsample_padding', oneOf([0, 1]), 1),
  field('downsampleType', 'downsample_type', oneOf(['conv']), 'conv'),
  field('upsampleType', 'upsample_type', oneOf(['conv']), 'conv'),
  field('dropout', 'dropout', finiteNumber({ min: 0, below: 1 }), 0.0),
  field('actFn', 'act_fn', oneOf(['silu', 'swish']), 'silu'),
  field('attentionHeadDim', 'attention_head_dim', nullable(channels), 8),
  field('normNumGroups', 'norm_num_groups', channels, 32),
  field('attnNormNumGroups', 'attn_norm_num_groups', nullable(channels), null),
  field('normEps', 'norm_eps', finiteNumber({ above: 0 }), 1e-5),
  field('resnetTimeScaleShift', 'resnet_time_scale_shift', oneOf(['default']), 'default'),
  field('addAttention', 'add_attention', boolean(), true),
  field('classEmbedType', 'class_embed_type', oneOf([null]), null),
  field('numClassEmbeds', 'num_class_embeds', oneOf([null]), null),
  field('numTrainTimesteps', 'num_train_timesteps', nullable(integer({ min: 1, max: CONFIG_LIMITS.maxTrainTimesteps })), null),
] satisfies ConfigField<UNet2DConfig>[];

/** Compile-time: the table above declares every key of {@link UNet2DConfig} (a missing one is a type error naming it). */
const _unet2DFieldsComplete: AllFieldsDeclared<UNet2DConfig, typeof UNET_2D_FIELDS> = true;

const CONDITIONAL = 'it belongs to a conditional UNet (UNet2DConditionModel), which this port does not build';
/**
 * Keys of diffusers' other UNets (UNet2DConditionModel) that change the network: refused unless they hold the value
 * that changes nothing, instead of being ignored as diffusers' `UNet2DModel` would (the checkpoint could then never
 * match, and the error would come later and say less).
 */
const REFUSED_UNET_KEYS: Record<string, RefusedKey> = {
  cross_attention_dim: { neutral: [null], reason: CONDITIONAL },
  encoder_hid_dim: { neutral: [null], reason: CONDITIONAL },
  encoder_hid_dim_type: { neutral: [null], reason: CONDITIONAL },
  addition_embed_type: { neutral: [null], reason: CONDITIONAL },
  addition_time_embed_dim: { neutral: [null], reason: CONDITIONAL },
  projection_class_embeddings_input_dim: { neutral: [null], reason: CONDITIONAL },
  time_cond_proj_dim: { neutral: [null], reason: CONDITIONAL },
  num_attention_heads: { neutral: [null], reason: CONDITIONAL },
  only_cross_attention: { neutral: [false], reason: CONDITIONAL },
  dual_cross_attention: { neutral: [false], reason: CONDITIONAL },
  mid_block_only_cross_attention: { neutral: [null, false], reason: CONDITIONAL },
  class_embeddings_concat: { neutral: [false], reason: CONDITIONAL },
  conv_in_kernel: { neutral: [3], reason: 'this port builds 3×3 conv_in only' },
  conv_out_kernel: { neutral: [3], reason: 'this port builds 3×3 conv_out only' },
  resnet_out_scale_factor: { neutral: [1], reason: 'this port builds resnets with an output scale of 1 only' },
  resnet_skip_time_act: { neutral: [false], reason: 'this port builds resnets without a time activation skip only' },
  time_embedding_act_fn: { neutral: [null], reason: 'this port builds the time embedding without an extra activation only' },
  timestep_post_act: { neutral: [null], reason: 'this port builds the time embedding without a post activation only' },
};


/** The checks between fields, with the message diffusers would not give; then the parameter limit. */
function checkUNet2DConfig(config: UNet2DConfig, context: CrossCheckContext<UNet2DConfig>): void {
  const { blockOutChannels, normNumGroups, attentionHeadDim } = config;
  for (const key of ['downBlockTypes', 'upBlockTypes'] as const) {
    if (config[key].length !== blockOutChannels.length) {
      context.fail(key, `has ${config[key].length} entries but block_out_channels has ${blockOutChannels.length}`);
    }
  }
  if (Math.floor(blockOutChannels[0] / 2) === config.freqShift) {
    context.fail('freqShift', `equals half of block_out_channels[0]=${blockOutChannels[0]}: the timestep frequencies would divide by zero`);
  }
  blockOutChannels.forEach((c, i) => {
    if (c % normNumGroups !== 0) context.fail('normNumGroups', `does not divide block_out_channels[${i}]=${c}`);
  });
  const last = blockOutChannels.length - 1;
  const attnGroups = config.attnNormNumGroups ?? normNumGroups;
  if (config.addAttention && blockOutChannels[last] % attnGroups !== 0) {
    context.fail('attnNormNumGroups', `does not divide block_out_channels[${last}]=${blockOutChannels[last]}`);
  }
  if (attentionHeadDim !== null) {
    const attentionChannels = new Set<number>();
    config.downBlockTypes.forEach((t, i) => t === 'AttnDownBlock2D' && attentionChannels.add(i));
    config.upBlockTypes.forEach((t, i) => t === 'AttnUpBlock2D' && attentionChannels.add(last - i));
    if (config.addAttention) attentionChannels.add(last);
    for (const i of attentionChannels) {
      if (blockOutChannels[i] % attentionHeadDim !== 0) {
        context.fail('attentionHeadDim', `does not divide block_out_channels[${i}]=${blockOutChannels[i]} (the channels of an attention block)`);
      }
    }
  }
  const parameters = unet2DParameterCount(config);
  if (parameters > CONFIG_LIMITS.maxParameters) {
    context.fail(
      null,
      `block_out_channels=${describeConfigValue(blockOutChannels)} with layers_per_block=${config.layersPerBlock} implies ` +
        `${parameters.toExponential(3)} parameters (${(parameters * 4 / 1e9).toFixed(1)} GB of float32), over the limit of ` +
        `${CONFIG_LIMITS.maxParameters.toExponential(0)} (${CONFIG_LIMITS_DOC}); nothing was allocated`,
    );
  }
}

const UNET_2D_SCHEMA = defineConfigSchema<UNet2DConfig>({
  fields: UNET_2D_FIELDS,
  crossCheck: checkUNet2DConfig,
  refusedKeys: REFUSED_UNET_KEYS,
});

/** diffusers 0.30.3 `UNet2DModel.__init__` defaults, used for keys a config.json does not have. */
export const UNET_2D_DEFAULTS: Readonly<Record<string, unknown>> = UNET_2D_SCHEMA.jsonDefaults;

/** Every key {@link parseUNet2DConfig} understands (metadata keys starting with `_` aside). */
export const UNET_2D_CONFIG_KEYS: readonly string[] = Object.keys(UNET_2D_DEFAULTS);

/** Options of {@link parseUNet2DConfig}. */
export interface ParseUNet2DConfigOptions {
  /** Receives the one warning about unknown keys (default `console.warn`); nothing is sent when there is none. */
  onWarning?: WarningSink;
}

/**
 * Parses a diffusers `UNet2DModel` config (the snake_case JSON of `config.json`) into a typed, validated
 * {@link UNet2DConfig}. Missing keys get diffusers 0.30.3's defaults (as `UNet2DModel.from_config` does, e.g. a
 * missing `attention_head_dim` means 8). Every value is checked against its type and the limits of
 * docs/checkpoints.md ("Config limits"), including the number of parameters the config implies, before anything is
 * built; a value this port does not build throws a {@link ConfigError} naming `source`, the key and the value.
 * Unknown keys are ignored with one warning (as diffusers does; Hub configs carry keys of newer diffusers versions),
 * except keys of conditional UNets that would change the network, which throw.
 *
 * ```ts
 * const config = parseUNet2DConfig(JSON.parse(text), 'unet/config.json');
 * config.blockOutChannels; // [128, 256, 256, 256]
 * ```
 */
export function parseUNet2DConfig(json: unknown, source = 'unet config', options: ParseUNet2DConfigOptions = {}): UNet2DConfig {
  assertConfigObject(json, source, 'the UNet config');
  const className = hasOwnKey(json, '_class_name') ? json._class_name : undefined;
  if (className !== undefined && className !== 'UNet2DModel') {
    throw new ConfigError(source, '_class_name', `_class_name=${describeConfigValue(className)} is not supported (supported: "UNet2DModel")`);
  }
  const { config, unknownKeys } = UNET_2D_SCHEMA.parse(json, { source, naming: 'snake' });
  if (unknownKeys.length > 0) (options.onWarning ?? consoleWarningSink)(unknownKeysWarning(source, 'UNet2DModel', unknownKeys));
  return config;
}

/**
 * Parses the text of a diffusers `config.json` (see {@link parseUNet2DConfig}); text that is not JSON is a
 * {@link ConfigError} naming `source`.
 */
export function parseUNet2DConfigText(text: string, source: string, options: ParseUNet2DConfigOptions = {}): UNet2DConfig {
  let json: unknown;
  try {
    json = parseBoundedJson(text, source);
  } catch (err) {
    throw new ConfigError(source, null, `cannot read the UNet config: ${(err as Error).message}`);
  }
  return parseUNet2DConfig(json, source, options);
}

/**
 * The diffusers `config.json` form (snake_case keys, `_class_name` first) of a config, e.g. to save it next to
 * converted weights. `parseUNet2DConfig(unet2DConfigToJSON(c))` gives `c` back.
 */
export function unet2DConfigToJSON(config: UNet2DConfig): Record<string, unknown> {
  return { _class_name: 'UNet2DModel', ...UNET_2D_SCHEMA.toJSON(config) };
}
