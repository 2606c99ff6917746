import { MEMORY_LIMITS } from '../config/memory-limits';

/**
 * How many images one UNet forward may take: sized from the activation memory a forward of this UNet needs per image
 * (estimated from its config), not a fixed count, so that google/ddpm-cifar10-32 batches 16 images while a 256×256
 * google/ddpm-* model runs one at a time.
 *
 * ```ts
 * maxBatchPerForwardFor(DDPM_CIFAR10_32_UNET_CONFIG);  // 16
 * maxBatchPerForwardFor(ddpmCelebahq256Config);        // 1 (≈ 0.6 GB of activations per image)
 * ```
 */

/** The most images per UNet forward whatever the memory (`MEMORY_LIMITS.maxBatchPerForward`, lib/config/memory-limits.ts). */
export const DEFAULT_MAX_BATCH_PER_FORWARD = MEMORY_LIMITS.maxBatchPerForward;

/** The activation memory one forward may use (`MEMORY_LIMITS.forwardMemoryBudgetBytes`: 1 GiB). */
export const FORWARD_MEMORY_BUDGET_BYTES = MEMORY_LIMITS.forwardMemoryBudgetBytes;

/** The parts of a UNet config the estimate reads (a test double without them gets the default cap). */
export interface ForwardMemoryConfig {
  sampleSize: number | readonly number[] | null;
  blockOutChannels?: readonly number[];
  layersPerBlock?: number;
  downBlockTypes?: readonly string[];
  attentionHeadDim?: number | null;
}

/** Live tensors at the widest point of a forward, in units of the widest up-block input (2·C·H·W). */
const WORKING_SET_TENSORS = 8;

/**
 * An estimate of the float32 bytes of activations one image needs in one forward of a diffusers `UNet2DModel`: the
 * skip connections the down path keeps for the up path (conv_in's output, every resnet's, every downsample's), plus
 * the working set at the widest up block (its input is the concatenation of 2·C channels at full resolution, and a
 * resnet holds about {@link WORKING_SET_TENSORS} tensors of that size: norm, activation, convolutions, shortcut), plus
 * the largest attention score matrix (heads × (H·W)²). Returns null when the config lacks the fields it needs.
 *
 * ```ts
 * forwardBytesPerImage(DDPM_CIFAR10_32_UNET_CONFIG);  // ≈ 11 MB
 * ```
 */
export function forwardBytesPerImage(config: ForwardMemoryConfig): number | null {
  const { blockOutChannels: channels, layersPerBlock: layers, sampleSize } = config;
  if (!channels || channels.length === 0 || typeof layers !== 'number' || sampleSize === null) return null;
  const [height, width] = typeof sampleSize === 'number' ? [sampleSize, sampleSize] : [sampleSize[0], sampleSize[1]];
  if (!Number.isFinite(height) || !Number.isFinite(width)) return null;
  let skips = channels[0] * height * width;
  let widest = 0;
  let attention = 0;
  let pixels = height * width;
  channels.forEach((c, level) => {
    const last = level === channels.length - 1;
    skips += layers * c * pixels;
    const below = level > 0 ? channels[level - 1] : channels[0];
    widest = Math.max(widest, (c + below) * pixels);
    if (config.downBlockTypes?.[level]?.startsWith('Attn')) {
      const heads = config.attentionHeadDim ? Math.max(1, Math.floor(c / config.attentionHeadDim)) : 1;
      attention = Math.max(attention, heads * pixels * pixels);
    }
    if (!last) {
      pixels = Math.ceil(pixels / 4);
      skips += c * pixels;
    }
  });
  return 4 * (skips + WORKING_SET_TENSORS * widest + attention);
}

/**
 * Images per UNet forward for `config`: as many as {@link FORWARD_MEMORY_BUDGET_BYTES} holds at
 * {@link forwardBytesPerImage} each, at least 1 and at most {@link DEFAULT_MAX_BATCH_PER_FORWARD}.
 */
export function maxBatchPerForwardFor(config: ForwardMemoryConfig): number {
  const bytes = forwardBytesPerImage(config);
  if (bytes === null || bytes <= 0) return DEFAULT_MAX_BATCH_PER_FORWARD;
  return Math.max(1, Math.min(DEFAULT_MAX_BATCH_PER_FORWARD, Math.floor(FORWARD_MEMORY_BUDGET_BYTES / bytes)));
}
