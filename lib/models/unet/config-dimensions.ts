// Sizes a UNet2DConfig implies (diffusers computes them in UNet2DModel.__init__), apart from config.ts so that the
// graph, which config.ts's parameter check walks, does not import config.ts back.
import type { UNet2DConfig } from './config';

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
