
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

export const SUPPORTED_DOWN_BLOCK_TYPES: readonly DownBlockType[] = ['DownBlock2D', 'AttnDownBlock2D'];
export const SUPPORTED_UP_BLOCK_TYPES: readonly UpBlockType[] = ['UpBlock2D', 'AttnUpBlock2D'];

/** diffusers 0.30.3 `UNet2DModel.__init__` defaults, used for keys a config.json does not have. */
export const UNET_2D_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({
  sample_size: null,
  in_channels: 3,
  out_channels: 3,
  center_input_sample: false,
  time_embedding_type: 'positional',
  time_embedding_dim: null,
  freq_shift: 0,
  flip_sin_to_cos: true,
  down_block_types: ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'],
  mid_block_type: 'UNetMidBlock2D',
  up_block_types: ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'],
  block_out_channels: [224, 448, 672, 896],
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  downsample_padding: 1,
  downsample_type: 'conv',
  upsample_type: 'conv',
  dropout: 0.0,
  act_fn: 'silu',
  attention_head_dim: 8,
  norm_num_groups: 32,
  attn_norm_num_groups: null,
  norm_eps: 1e-5,
  resnet_time_scale_shift: 'default',
  add_attention: true,
  class_embed_type: null,
  num_class_embeds: null,
  num_train_timesteps: null,
});

/** Keys diffusers writes that carry no architecture (`_class_name`, `_diffusers_version`, `_name_or_path`, …). */
function isMetadataKey(key: string): boolean {
  return key.startsWith('_');
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text;
}

class ConfigReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly source: string,
  ) {}

  fail(key: string, message: string): never {
    throw new Error(`${this.source}: ${key}=${show(this.raw(key))} ${message}`);
  }

  raw(key: string): unknown {
    return key in this.json ? this.json[key] : UNET_2D_DEFAULTS[key];
  }

  positiveInt(key: string): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.fail(key, 'must be a positive integer');
    return v;
  }

  nonNegativeInt(key: string): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(key, 'must be a non-negative integer');
    return v;
  }

  optionalPositiveInt(key: string): number | null {
    return this.raw(key) === null ? null : this.positiveInt(key);
  }

  finiteNumber(key: string): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'must be a finite number');
    return v;
  }

  positiveNumber(key: string): number {
    const v = this.finiteNumber(key);
    if (!(v > 0)) this.fail(key, 'must be > 0');
    return v;
  }

  bool(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }

  oneOf<T>(key: string, allowed: readonly T[]): T {
    const v = this.raw(key);
    if (!allowed.includes(v as T)) this.fail(key, `is not supported (supported: ${allowed.map(show).join(', ')})`);
    return v as T;
  }

  list<T>(key: string, item: (value: unknown, index: number) => T): T[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || v.length === 0) this.fail(key, 'must be a non-empty list');
    return v.map(item);
  }
}

/** Every key {@link parseUNet2DConfig} understands (metadata keys starting with `_` aside). */
export const UNET_2D_CONFIG_KEYS: readonly string[] = Object.keys(UNET_2D_DEFAULTS);

/**
 * Parses a diffusers `UNet2DModel` config (the snake_case JSON of `config.json`) into a typed, validated
 * {@link UNet2DConfig}. Missing keys get diffusers 0.30.3's defaults (as `UNet2DModel.from_config` does, e.g. a
 * missing `attention_head_dim` means 8); a value this port does not build, or an unknown key, throws an error naming
 * the key and the value.
 *
 * ```ts
 * const config = parseUNet2DConfig(JSON.parse(fs.readFileSync('unet/config.json', 'utf8')), 'unet/config.json');
 * config.blockOutChannels; // [128, 256, 256, 256]
 * ```
 */
export function parseUNet2DConfig(json: unknown, source = 'unet config'): UNet2DConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source}: expected a JSON object, got ${show(json)}`);
  }
  const obj = json as Record<string, unknown>;
  const className = obj['_class_name'];
  if (className !== undefined && className !== 'UNet2DModel') {
    throw new Error(`${source}: _class_name=${show(className)} is not supported (supported: "UNet2DModel")`);
  }
  const unknown = Object.keys(obj).filter((k) => !isMetadataKey(k) && !(k in UNET_2D_DEFAULTS));
  if (unknown.length > 0) {
    throw new Error(
      `${source}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${k}=${show(obj[k])}`).join(', ')} ` +
        `(supported fields: ${UNET_2D_CONFIG_KEYS.join(', ')})`,
    );
  }
  const r: ConfigReader = new ConfigReader(obj, source);

  const sampleSizeRaw = r.raw('sample_size');
  let sampleSize: UNet2DConfig['sampleSize'];
  if (sampleSizeRaw === null) sampleSize = null;
  else if (Array.isArray(sampleSizeRaw)) {
    if (sampleSizeRaw.length !== 2 || !sampleSizeRaw.every((v) => Number.isSafeInteger(v) && v > 0)) {
      r.fail('sample_size', 'must be a positive integer, a [height, width] pair or null');
    }
    sampleSize = [sampleSizeRaw[0], sampleSizeRaw[1]];
  } else sampleSize = r.positiveInt('sample_size');

  const blockOutChannels = r.list('block_out_channels', (v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      r.fail('block_out_channels', `has block_out_channels[${i}]=${show(v)}: each must be a positive integer`);
    }
    return v;
  });
  // diffusers strips a "UNetRes" prefix from block type names (get_down_block / get_up_block).
  const stripRes = (v: unknown) => (typeof v === 'string' && v.startsWith('UNetRes') ? v.slice(7) : v);
  const downBlockTypes = r.list('down_block_types', (v, i) => {
    const name = stripRes(v);
    if (!SUPPORTED_DOWN_BLOCK_TYPES.includes(name as DownBlockType)) {
      r.fail('down_block_types', `has down_block_types[${i}]=${show(v)}, which is not supported (supported: ${SUPPORTED_DOWN_BLOCK_TYPES.join(', ')})`);
    }
    return name as DownBlockType;
  });
  const upBlockTypes = r.list('up_block_types', (v, i) => {
    const name = stripRes(v);
    if (!SUPPORTED_UP_BLOCK_TYPES.includes(name as UpBlockType)) {
      r.fail('up_block_types', `has up_block_types[${i}]=${show(v)}, which is not supported (supported: ${SUPPORTED_UP_BLOCK_TYPES.join(', ')})`);
    }
    return name as UpBlockType;
  });
  if (downBlockTypes.length !== blockOutChannels.length) {
    r.fail('down_block_types', `has ${downBlockTypes.length} entries but block_out_channels has ${blockOutChannels.length}`);
  }
  if (upBlockTypes.length !== blockOutChannels.length) {
    r.fail('up_block_types', `has ${upBlockTypes.length} entries but block_out_channels has ${blockOutChannels.length}`);
  }

  const config: UNet2DConfig = {
    sampleSize,
    inChannels: r.positiveInt('in_channels'),
    outChannels: r.positiveInt('out_channels'),
    centerInputSample: r.bool('center_input_sample'),
    timeEmbeddingType: r.oneOf('time_embedding_type', ['positional'] as const),
    timeEmbeddingDim: r.optionalPositiveInt('time_embedding_dim'),
    freqShift: r.finiteNumber('freq_shift'),
    flipSinToCos: r.bool('flip_sin_to_cos'),
    downBlockTypes,
    midBlockType: r.oneOf('mid_block_type', ['UNetMidBlock2D'] as const),
    upBlockTypes,
    blockOutChannels,
    layersPerBlock: r.positiveInt('layers_per_block'),
    midBlockScaleFactor: r.positiveNumber('mid_block_scale_factor'),
    downsamplePadding: r.nonNegativeInt('downsample_padding'),
    downsampleType: r.oneOf('downsample_type', ['conv'] as const),
    upsampleType: r.oneOf('upsample_type', ['conv'] as const),
    dropout: r.finiteNumber('dropout'),
    actFn: r.oneOf('act_fn', ['silu', 'swish'] as const),
    attentionHeadDim: r.optionalPositiveInt('attention_head_dim'),
    normNumGroups: r.positiveInt('norm_num_groups'),
    attnNormNumGroups: r.optionalPositiveInt('attn_norm_num_groups'),
    normEps: r.positiveNumber('norm_eps'),
    resnetTimeScaleShift: r.oneOf('resnet_time_scale_shift', ['default'] as const),
    addAttention: r.bool('add_attention'),
    classEmbedType: r.oneOf('class_embed_type', [null] as const),
    numClassEmbeds: r.oneOf('num_class_embeds', [null] as const),
    numTrainTimesteps: r.optionalPositiveInt('num_train_timesteps'),
  };
  if (config.dropout < 0 || config.dropout >= 1) r.fail('dropout', 'must be in [0, 1)');
  if (config.downsamplePadding > 1) r.fail('downsample_padding', 'is not supported (supported: 0, 1)');
  if (Math.floor(blockOutChannels[0] / 2) === config.freqShift) {
    r.fail('freq_shift', `equals half of block_out_channels[0]=${blockOutChannels[0]}: the timestep frequencies would divide by zero`);
  }
  checkChannels(config, r);
  return config;
}

/** Channel counts every GroupNorm and attention head split needs, with the message diffusers would not give. */
function checkChannels(config: UNet2DConfig, r: ConfigReader): void {
  const { blockOutChannels, normNumGroups, attentionHeadDim } = config;
  blockOutChannels.forEach((c, i) => {
    if (c % normNumGroups !== 0) {
      r.fail('norm_num_groups', `does not divide block_out_channels[${i}]=${c}`);
    }
  });
  const last = blockOutChannels.length - 1;
  const attnGroups = config.attnNormNumGroups ?? normNumGroups;
  if (config.addAttention && blockOutChannels[last] % attnGroups !== 0) {
    r.fail('attn_norm_num_groups', `does not divide block_out_channels[${last}]=${blockOutChannels[last]}`);
  }
  if (attentionHeadDim === null) return;
  const attentionChannels = new Set<number>();
  config.downBlockTypes.forEach((t, i) => t === 'AttnDownBlock2D' && attentionChannels.add(i));
  config.upBlockTypes.forEach((t, i) => t === 'AttnUpBlock2D' && attentionChannels.add(last - i));
  if (config.addAttention) attentionChannels.add(last);
  for (const i of attentionChannels) {
    if (blockOutChannels[i] % attentionHeadDim !== 0) {
      r.fail('attention_head_dim', `does not divide block_out_channels[${i}]=${blockOutChannels[i]} (the channels of an attention block)`);
    }
  }
}

/**
 * The diffusers `config.json` form (snake_case keys, `_class_name` first) of a config, e.g. to save it next to
 * converted weights. `parseUNet2DConfig(unet2DConfigToJSON(c))` gives `c` back.
 */
export function unet2DConfigToJSON(config: UNet2DConfig): Record<string, unknown> {
  return {
    _class_name: 'UNet2DModel',
    sample_size: config.sampleSize,
    in_channels: config.inChannels,
    out_channels: config.outChannels,
    center_input_sample: config.centerInputSample,
    time_embedding_type: config.timeEmbeddingType,
    time_embedding_dim: config.timeEmbeddingDim,
    freq_shift: config.freqShift,
    flip_sin_to_cos: config.flipSinToCos,
    down_block_types: [...config.downBlockTypes],
    mid_block_type: config.midBlockType,
    up_block_types: [...config.upBlockTypes],
    block_out_channels: [...config.blockOutChannels],
    layers_per_block: config.layersPerBlock,
    mid_block_scale_factor: config.midBlockScaleFactor,
    downsample_padding: config.downsamplePadding,
    downsample_type: config.downsampleType,
    upsample_type: config.upsampleType,
    dropout: config.dropout,
    act_fn: config.actFn,
    attention_head_dim: config.attentionHeadDim,
    norm_num_groups: config.normNumGroups,
    attn_norm_num_groups: config.attnNormNumGroups,
    norm_eps: config.normEps,
    resnet_time_scale_shift: config.resnetTimeScaleShift,
    add_attention: config.addAttention,
    class_embed_type: config.classEmbedType,
    num_class_embeds: config.numClassEmbeds,
    num_train_timesteps: config.numTrainTimesteps,
  };
}

/** Width of the time embedding (`time_embed_dim` in diffusers). */
export function timeEmbedDim(config: UNet2DConfig): number {
  return config.timeEmbeddingDim ?? 4 * config.blockOutChannels[0];
}

/** Number of attention heads for a block of `channels` channels (diffusers: `channels // attention_head_dim`). */
export function attentionHeads(config: UNet2DConfig, channels: number): number {
  return config.attentionHeadDim === null ? 1 : channels / config.attentionHeadDim;
}

/** Height and width must be divisible by this: every down block but the last halves them. */
export function spatialDivisor(config: UNet2DConfig): number {
  return 2 ** (config.blockOutChannels.length - 1);
}
