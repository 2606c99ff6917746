/**
 * The limits of configs read from files (UNet `config.json`, `scheduler_config.json`, the config inside a converted
 * `model.json`), checked before any tensor or table exists. Each is far above every published diffusers model and
 * far below what would exhaust memory; docs/checkpoints.md ("Config limits") says why each is what it is.
 */
export const CONFIG_LIMITS = Object.freeze({
  /**
   * `num_train_timesteps` (schedulers and UNet), `steps_offset`, and the length of `trained_betas`: 100 × the 1000
   * of every published DDPM/DDIM config (improved DDPM used 4000). The scheduler tables then hold ≤ 800 KB each.
   */
  maxTrainTimesteps: 100_000,
  /** Entries of `block_out_channels` (and of the block type lists): 8 (published UNets use 4 to 6; 2^7 = 128 is then the smallest image side). */
  maxBlocks: 8,
  /** `layers_per_block`: 64 (published UNets use 1 to 3). */
  maxLayersPerBlock: 64,
  /**
   * Every channel count: `block_out_channels[i]`, `in_channels`, `out_channels`, `time_embedding_dim`,
   * `norm_num_groups`, `attn_norm_num_groups`, `attention_head_dim`: 16384 (12.8 × Stable Diffusion's 1280). With the
   * two limits above, every parameter count is an exact integer in float64.
   */
  maxChannels: 16_384,
  /** `sample_size` (informational: nothing is allocated from it): 65536. */
  maxSampleSize: 65_536,
  /**
   * Parameters a UNet config implies, counted from the config before the model is built: 1e9 (4 GB of float32),
   * ~28 × google/ddpm-cifar10-32 (35.7 M) and ~3.6 × the largest published `UNet2DModel` we know of (ldm-celebahq-256, ~274 M).
   */
  maxParameters: 1_000_000_000,
});
