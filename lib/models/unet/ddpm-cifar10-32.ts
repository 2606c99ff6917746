/**
 * The `unet/config.json` of google/ddpm-cifar10-32 (written by an early diffusers; the `_diffusers_version`
 * line is left out). It lacks every key added after diffusers 0.1 (`add_attention`, `downsample_type`, …):
 * `parseUNet2DConfig` fills diffusers' defaults. With `attention_head_dim: null` its attention has one head
 * of 256 channels. 35,746,307 parameters.
 *
 * ```ts
 * const unet = UNet2DModel.fromConfig(DDPM_CIFAR10_32_UNET_CONFIG);
 * ```
 */
export const DDPM_CIFAR10_32_UNET_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  _class_name: 'UNet2DModel',
  act_fn: 'silu',
  attention_head_dim: null,
  block_out_channels: [128, 256, 256, 256],
  center_input_sample: false,
  down_block_types: ['DownBlock2D', 'AttnDownBlock2D', 'DownBlock2D', 'DownBlock2D'],
  downsample_padding: 0,
  flip_sin_to_cos: false,
  freq_shift: 1,
  in_channels: 3,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-6,
  norm_num_groups: 32,
  out_channels: 3,
  sample_size: 32,
  time_embedding_type: 'positional',
  up_block_types: ['UpBlock2D', 'AttnUpBlock2D', 'UpBlock2D', 'UpBlock2D'],
});

/** Its parameter count (diffusers `sum(p.numel() for p in unet.parameters())`). */
export const DDPM_CIFAR10_32_PARAMETERS = 35_746_307;
