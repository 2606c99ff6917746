/**
 * The `unet/config.json` shared by Google's 256×256 DDPM models on the Hub — google/ddpm-celebahq-256,
 * google/ddpm-church-256, google/ddpm-bedroom-256, google/ddpm-cat-256 and their `ddpm-ema-*` twins (the same network,
 * EMA weights): the DDPM paper's 256×256 UNet (ch 128, ch_mult (1, 1, 2, 2, 4, 4), two resnets per level, one
 * attention level at 16×16), as diffusers' conversion script wrote it (early diffusers: keys added later, such as
 * `add_attention`, are absent and take diffusers' defaults). 113,673,219 parameters (diffusers 0.30.3 counts the same
 * for this config). Every block type is one the library has; spec/models/unet/ddpm-256.spec.ts checks the
 * architecture against diffusers' forward.
 *
 * ```ts
 * const unet = UNet2DModel.fromConfig(DDPM_256_UNET_CONFIG);
 * const pipeline = await DDPMPipeline.fromPretrained('google/ddpm-celebahq-256');
 * ```
 */
export const DDPM_256_UNET_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  _class_name: 'UNet2DModel',
  act_fn: 'silu',
  attention_head_dim: null,
  block_out_channels: Object.freeze([128, 128, 256, 256, 512, 512]),
  center_input_sample: false,
  down_block_types: Object.freeze(['DownBlock2D', 'DownBlock2D', 'DownBlock2D', 'DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D']),
  downsample_padding: 0,
  flip_sin_to_cos: false,
  freq_shift: 1,
  in_channels: 3,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-6,
  norm_num_groups: 32,
  out_channels: 3,
  sample_size: 256,
  time_embedding_type: 'positional',
  up_block_types: Object.freeze(['UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D', 'UpBlock2D', 'UpBlock2D', 'UpBlock2D']),
});

/** Its parameter count (diffusers `sum(p.numel() for p in unet.parameters())`). */
export const DDPM_256_PARAMETERS = 113_673_219;

/** The Hub models whose UNet is {@link DDPM_256_UNET_CONFIG}. */
export const DDPM_256_MODELS: readonly string[] = Object.freeze([
  'google/ddpm-celebahq-256',
  'google/ddpm-church-256',
  'google/ddpm-bedroom-256',
  'google/ddpm-cat-256',
  'google/ddpm-ema-celebahq-256',
  'google/ddpm-ema-church-256',
  'google/ddpm-ema-bedroom-256',
  'google/ddpm-ema-cat-256',
]);
