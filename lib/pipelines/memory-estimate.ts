import type { UNet2DConfig } from '../models/unet/config';
import { MEMORY_LIMITS } from '../config/memory-limits';

/**
 * A memory estimate for a pipeline run, checked before anything is allocated: a UNet config with `sample_size` 8192
 * (accepted by the config checks: nothing is allocated from the config itself) or a CLI run with
 * `--seeds-per-forward 300000` used to fail after a minute with a bare "Array buffer allocation failed". The estimate
 * is an upper bound of the float32 bytes alive during one forward: every feature map the UNet keeps for its skip
 * connections (down path) plus a few working copies, and the attention scores of the largest attention layer
 * (`(h·w)²` per head), plus the latents of the whole batch.
 *
 * ```ts
 * estimateGenerateBytes(unet.config, { height: 32, width: 32, batchSize: 16, samplesPerForward: 16 }); // ≈ 120 MB
 * ```
 */

/** The default budget (`MEMORY_LIMITS.runMemoryBudgetBytes`: 4 GiB, where the wasm backend's heap stops). */
export const DEFAULT_MEMORY_BUDGET_BYTES = MEMORY_LIMITS.runMemoryBudgetBytes;

/** A run whose estimate exceeds the budget; the message gives the estimate, the budget and what fits. */
export class MemoryBudgetError extends Error {
  constructor(
    message: string,
    /** The estimate, bytes. */
    readonly estimateBytes: number,
    readonly budgetBytes: number,
  ) {
    super(message);
    this.name = 'MemoryBudgetError';
  }
}

type EstimateConfig = Pick<UNet2DConfig, 'blockOutChannels' | 'layersPerBlock' | 'downBlockTypes' | 'upBlockTypes' | 'attentionHeadDim' | 'inChannels' | 'addAttention'>;

/** Float32 bytes one sample of `height` × `width` keeps alive during a UNet forward (an upper bound). */
function estimateForwardBytesPerSample(config: EstimateConfig, height: number, width: number): number {
  const levels = config.blockOutChannels.length;
  let featureMaps = 0;
  let attention = 0;
  const attentionBytes = (pixels: number, channels: number) => {
    const heads = config.attentionHeadDim === null ? 1 : Math.max(1, Math.floor(channels / config.attentionHeadDim));
    return 2 * pixels * pixels * heads * 4; // scores and their softmax
  };
  for (let level = 0; level < levels; level++) {
    const pixels = Math.ceil(height / 2 ** level) * Math.ceil(width / 2 ** level);
    const channels = config.blockOutChannels[level];
    // Skips (layers_per_block + 1 per level on the way down), twice over for their concatenations on the way up, and
    // the resnet temporaries: ≈ 17 MB a 32×32 sample for google/ddpm-cifar10-32, which measured about 20 MB in all.
    featureMaps += pixels * channels * 4 * (2 * (config.layersPerBlock + 1) + 12);
    const withAttention = config.downBlockTypes[level] === 'AttnDownBlock2D' || config.upBlockTypes[levels - 1 - level] === 'AttnUpBlock2D';
    if (withAttention) attention = Math.max(attention, attentionBytes(pixels, channels));
  }
  if (config.addAttention) {
    const last = levels - 1;
    const pixels = Math.ceil(height / 2 ** last) * Math.ceil(width / 2 ** last);
    attention = Math.max(attention, attentionBytes(pixels, config.blockOutChannels[last]));
  }
  return featureMaps + attention;
}

/** Float32 bytes a run of `batchSize` images in forwards of `samplesPerForward` needs at its peak (an upper bound). */
export function estimateGenerateBytes(
  config: EstimateConfig,
  run: { height: number; width: number; batchSize: number; samplesPerForward: number },
): number {
  const perForward = Math.min(run.batchSize, run.samplesPerForward);
  const latents = run.batchSize * run.height * run.width * config.inChannels * 4 * 6; // sample, eps, x0, prev, noise, output
  return perForward * estimateForwardBytesPerSample(config, run.height, run.width) + latents;
}

/** The most samples one forward may hold within `budgetBytes` (0 when not even one fits). */
function maxSamplesPerForward(config: EstimateConfig, height: number, width: number, budgetBytes = DEFAULT_MEMORY_BUDGET_BYTES): number {
  const perSample = estimateForwardBytesPerSample(config, height, width) + height * width * config.inChannels * 4 * 6;
  return Math.max(0, Math.floor(budgetBytes / perSample));
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GiB`;

/**
 * Throws a {@link MemoryBudgetError} when the run's estimate exceeds `budgetBytes`; `what` names the run in the
 * message (`DDIMPipeline.generate`, `--seeds-per-forward 300000`).
 */
function checkMemoryBudget(
  config: EstimateConfig,
  run: { height: number; width: number; batchSize: number; samplesPerForward: number },
  what: string,
  budgetBytes = DEFAULT_MEMORY_BUDGET_BYTES,
): void {
  const estimate = estimateGenerateBytes(config, run);
  if (estimate <= budgetBytes) return;
  const fits = maxSamplesPerForward(config, run.height, run.width, budgetBytes);
  throw new MemoryBudgetError(
    `${what}: a ${run.height}×${run.width} run of ${run.batchSize} image(s), ${Math.min(run.batchSize, run.samplesPerForward)} per UNet forward, ` +
      `needs about ${gib(estimate)}, over the memory budget of ${gib(budgetBytes)}` +
      (fits === 0 ? ` (not even one ${run.height}×${run.width} sample fits: is sample_size right?)` : ` (at most ${fits} sample(s) per forward fit)`),
    estimate,
    budgetBytes,
  );
}

/**
 * {@link checkMemoryBudget} for a pipeline's denoising model: models that do not describe their blocks (a test
 * double) are checked for their latents only.
 */
export function checkGenerateMemory(
  modelConfig: { inChannels: number } & Partial<EstimateConfig>,
  run: { height: number; width: number; batchSize: number; samplesPerForward: number },
  what: string,
  budgetBytes = DEFAULT_MEMORY_BUDGET_BYTES,
): void {
  const described = Array.isArray(modelConfig.blockOutChannels) && Array.isArray(modelConfig.downBlockTypes) && Array.isArray(modelConfig.upBlockTypes);
  const config: EstimateConfig = described
    ? (modelConfig as EstimateConfig)
    : { blockOutChannels: [], layersPerBlock: 0, downBlockTypes: [], upBlockTypes: [], attentionHeadDim: null, inChannels: modelConfig.inChannels, addAttention: false };
  checkMemoryBudget(config, run, what, budgetBytes);
}
